package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/demo"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// importWriteFile writes content to a file in dir and returns its path.
func importWriteFile(t *testing.T, dir, name string, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func importCount(t *testing.T, dbURL, table string) int {
	t.Helper()
	var n int
	if err := testenv.Pool(t, dbURL).QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	people := importWriteFile(t, dir, "people.csv", demo.People())
	edges := importWriteFile(t, dir, "edges.txt", demo.Edges())
	bad := importWriteFile(t, dir, "bad.csv", strings.NewReader(
		"handle,display_name,email\nana,Ana,ana@example.org\nx,Too Short,x@example.org\nben,Ben,not-an-email\n"))
	badEdges := importWriteFile(t, dir, "bad-edges.txt", strings.NewReader("ana nobody\n"))

	dbURL := testenv.DatabaseURL(t)
	env := func(k string) string {
		return map[string]string{"DATABASE_URL": dbURL, "DATA_DIR": t.TempDir()}[k]
	}
	importCmd := func(args ...string) (string, error) {
		var out, logs bytes.Buffer
		err := run(context.Background(), append([]string{"import"}, args...), env, &out, &logs)
		return out.String(), err
	}

	t.Run("bad rows", func(t *testing.T) {
		out, err := importCmd("--nodes", bad, "--edges", badEdges)
		if err == nil || !strings.Contains(err.Error(), "nothing was imported") {
			t.Fatalf("err = %v, want nothing was imported", err)
		}
		for _, want := range []string{
			"nothing was imported: 3 bad rows",
			bad + ":\n  line 3: handle: ",
			"\n  line 4: email: ",
			badEdges + ":\n  line 1: to: ",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if n := importCount(t, dbURL, "nodes"); n != 0 {
			t.Errorf("nodes = %d after a failed import, want 0", n)
		}
	})

	t.Run("email-eu-core", func(t *testing.T) {
		start := time.Now()
		out, err := importCmd("--nodes", people, "--edges", edges)
		if err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
		t.Logf("server import took %v:\n%s", time.Since(start), out)
		for _, want := range []string{
			"imported " + people + " and " + edges + " in ",
			"     1005  people created\n",
			"       42  communities created\n",
			"    25571  ties read\n",
			"      642  self-loops skipped\n",
			"     8865  repeated or reverse ties merged\n",
			"    16064  connections created\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if n := importCount(t, dbURL, "connections"); n != 16064 {
			t.Errorf("connections = %d, want 16064", n)
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{}, {"--edges", edges}, {"--nodes"}, {"--nodes", people, "extra"}, {"--colour", "red"}} {
			if _, err := importCmd(args...); !errors.Is(err, errUsage) {
				t.Errorf("import %q: err = %v, want the usage error", args, err)
			}
		}
		if _, err := importCmd("--nodes", filepath.Join(dir, "missing.csv")); err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a missing file: err = %v, want it to say the file does not exist", err)
		}
		out, err := importCmd("-h")
		if err != nil || !strings.Contains(out, "usage: server import --nodes") {
			t.Errorf("-h = %q, %v; want the usage text", out, err)
		}
	})
}

// importUpload is a multipart form with the given files (name → content).
func importUpload(t *testing.T, files map[string]string) (body *bytes.Buffer, contentType string) {
	t.Helper()
	body = &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	for name, content := range files {
		fw, err := mw.CreateFormFile(name, name+".txt")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return body, mw.FormDataContentType()
}

// importDo sends one request to the import page as the token's node, without
// following redirects.
func importDo(t *testing.T, method, u, token, contentType string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestImportPage(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open"})
	steward := signupNode(t, in.url, "steward") // the first node is steward
	member := signupNode(t, in.url, "member")

	t.Run("stewards only", func(t *testing.T) {
		if resp, _ := importDo(t, "GET", in.url+"/import", "", "", nil); resp.StatusCode != http.StatusSeeOther ||
			!strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
			t.Errorf("signed out: %d to %q, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := importDo(t, "GET", in.url+"/import", member, "", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a member: %d, want 403", resp.StatusCode)
		}
		body, ct := importUpload(t, map[string]string{"nodes": "handle,display_name,email\nsneak,Sneak,sneak@example.org\n"})
		if resp, _ := importDo(t, "POST", in.url+"/import", member, ct, body); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a member's upload: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("the form", func(t *testing.T) {
		resp, page := importDo(t, "GET", in.url+"/import", steward, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		for _, want := range []string{`data-testid="import-form"`, `enctype="multipart/form-data"`, `<label for="nodes">`, `name="edges"`} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
	})

	t.Run("bad rows", func(t *testing.T) {
		body, ct := importUpload(t, map[string]string{
			"nodes": "handle,display_name,email\nana,Ana,ana@example.org\nsteward,Again,again@example.org\nbo,Bo,bo-at-example\n",
			"edges": "ana ghost\n",
		})
		resp, page := importDo(t, "POST", in.url+"/import", steward, ct, body)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", resp.StatusCode)
		}
		for _, want := range []string{
			"Nothing was imported: 3 bad rows",
			`data-testid="import-problem" data-line="3" data-field="handle"`,
			`data-testid="import-problem" data-line="4" data-field="email"`,
			`data-testid="import-problem" data-line="1" data-field="to"`,
			`data-testid="import-form"`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		if n := importCount(t, dbURL, "nodes"); n != 2 {
			t.Errorf("nodes = %d, want the 2 who signed up", n)
		}
	})

	t.Run("no people file", func(t *testing.T) {
		body, ct := importUpload(t, map[string]string{"edges": "a b\n"})
		resp, page := importDo(t, "POST", in.url+"/import", steward, ct, body)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="nodes-error"`) {
			t.Errorf("status %d, want 422 with an error on the people file", resp.StatusCode)
		}
	})

	t.Run("too large", func(t *testing.T) {
		big := "handle,display_name,email\n" + strings.Repeat("x", 21<<20)
		body, ct := importUpload(t, map[string]string{"nodes": big})
		resp, _ := importDo(t, "POST", in.url+"/import", steward, ct, body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
	})

	t.Run("email-eu-core", func(t *testing.T) {
		nodes, _ := io.ReadAll(demo.People())
		edges, _ := io.ReadAll(demo.Edges())
		body, ct := importUpload(t, map[string]string{"nodes": string(nodes), "edges": string(edges)})
		resp, _ := importDo(t, "POST", in.url+"/import", steward, ct, body)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", resp.StatusCode)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Path != "/import" || loc.Query().Get("people") != "1005" || loc.Query().Get("connections") != "16064" {
			t.Fatalf("redirect to %q, want /import with the counts", resp.Header.Get("Location"))
		}
		resp, page := importDo(t, "GET", in.url+loc.String(), steward, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("report page: status %d", resp.StatusCode)
		}
		for _, want := range []string{
			`data-testid="import-report"`,
			`data-testid="report-people"><span class="n">1005</span>`,
			`data-testid="report-communities"><span class="n">42</span>`,
			`data-testid="report-connections"><span class="n">16064</span>`,
			"Of 25571 ties read, 642 named the same person twice",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("report lacks %s", want)
			}
		}
		if n := importCount(t, dbURL, "nodes"); n != 1007 {
			t.Errorf("nodes = %d, want 1007", n)
		}
	})
}
