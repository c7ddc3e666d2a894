package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// TestSBOMCommand runs `server sbom` and checks the CycloneDX document names
// the main dependencies at the versions go.mod requires and the vendored
// front-end packages with their versions, hashes and licences (ASVS 15.1.2).
// Under go test the build information is the test binary's, which links the
// same modules as the server.
func TestSBOMCommand(t *testing.T) {
	var out, logs bytes.Buffer
	if err := run(context.Background(), []string{"sbom"}, func(string) string { return "" }, &out, &logs); err != nil {
		t.Fatalf("sbom: %v (logs: %s)", err, logs.String())
	}
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct{ Name, Version, PURL string }
		}
		Components []struct {
			Name, Version, PURL, Scope string
			Hashes                     []struct{ Alg, Content string }
			Licenses                   []struct {
				License struct{ ID string }
			}
			Properties []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &bom); err != nil {
		t.Fatalf("sbom output is not JSON: %v\n%s", err, out.String())
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.5" {
		t.Errorf("bomFormat, specVersion = %q, %q; want CycloneDX, 1.5", bom.BOMFormat, bom.SpecVersion)
	}
	if got, want := bom.Metadata.Component.Name, "github.com/nodecommunity/nodecommunity"; got != want {
		t.Errorf("metadata.component.name = %q, want %q", got, want)
	}
	byName := map[string]int{}
	for i, c := range bom.Components {
		byName[c.Name] = i
	}

	goMod, err := os.ReadFile(filepath.Join(secRepoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", goMod, nil)
	if err != nil {
		t.Fatal(err)
	}
	required := map[string]string{}
	for _, r := range mf.Require {
		required[r.Mod.Path] = r.Mod.Version
	}
	for _, mod := range []string{
		"github.com/jackc/pgx/v5",
		"github.com/go-chi/chi/v5",
		"github.com/nats-io/nats.go",
		"github.com/golang-migrate/migrate/v4",
		"github.com/a-h/templ",
	} {
		t.Run(mod, func(t *testing.T) {
			want := required[mod]
			if want == "" {
				t.Fatalf("go.mod requires no %s", mod)
			}
			i, ok := byName[mod]
			if !ok {
				t.Fatalf("%s missing from the SBOM", mod)
			}
			c := bom.Components[i]
			if c.Version != want {
				t.Errorf("version = %q, want %q (go.mod)", c.Version, want)
			}
			if wantPURL := "pkg:golang/" + mod + "@" + want; c.PURL != wantPURL {
				t.Errorf("purl = %q, want %q", c.PURL, wantPURL)
			}
			var sum string
			for _, p := range c.Properties {
				if p.Name == "go:sum" {
					sum = p.Value
				}
			}
			if !strings.HasPrefix(sum, "h1:") {
				t.Errorf("go:sum property = %q, want the go.sum h1: hash", sum)
			}
		})
	}
	if i, ok := byName["std"]; !ok || !strings.HasPrefix(bom.Components[i].Version, "go1.") {
		t.Errorf("no std component with the Go version")
	}

	// The vendored files: versions from the file names, licences as the LICENSE files say.
	for _, tc := range []struct{ npm, version, file, licenseFile, licenseText string }{
		{"htmx.org", "2.0.11", "htmx-2.0.11.min.js", "LICENSE-htmx", "Zero-Clause BSD"},
		{"htmx-ext-sse", "2.2.4", "htmx-ext-sse-2.2.4.min.js", "LICENSE-htmx-ext-sse", "BSD Zero Clause"},
	} {
		t.Run(tc.npm, func(t *testing.T) {
			i, ok := byName[tc.npm]
			if !ok {
				t.Fatalf("%s missing from the SBOM", tc.npm)
			}
			c := bom.Components[i]
			if c.Version != tc.version || c.PURL != "pkg:npm/"+tc.npm+"@"+tc.version {
				t.Errorf("version, purl = %q, %q; want %q, pkg:npm/%s@%s", c.Version, c.PURL, tc.version, tc.npm, tc.version)
			}
			if len(c.Licenses) != 1 || c.Licenses[0].License.ID != "0BSD" {
				t.Errorf("licences = %+v, want 0BSD", c.Licenses)
			}
			lic, err := os.ReadFile(filepath.Join(secRepoRoot, "web/static/vendor", tc.licenseFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(lic), tc.licenseText) {
				t.Errorf("%s does not say %q: the SBOM's 0BSD would be wrong", tc.licenseFile, tc.licenseText)
			}
			js, err := os.ReadFile(filepath.Join(secRepoRoot, "web/static/vendor", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(js)
			if want := hex.EncodeToString(sum[:]); len(c.Hashes) != 1 || c.Hashes[0].Alg != "SHA-256" || c.Hashes[0].Content != want {
				t.Errorf("hashes = %+v, want SHA-256 %s", c.Hashes, want)
			}
		})
	}

	if err := run(context.Background(), []string{"sbom", "extra"}, func(string) string { return "" }, &out, &logs); !errors.Is(err, errUsage) {
		t.Errorf("sbom extra = %v, want a usage error", err)
	}
}
