package components

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates every component with the pinned templ tool
// and compares it with the committed *_templ.go: editing a .templ file without
// `make generate` fails here.
func TestGeneratedCodeIsFresh(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no .templ files found (%v)", err)
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			var out, errOut bytes.Buffer
			// From the module root, as `make generate` runs it: the path is embedded in the output.
			cmd := exec.Command(goBin, "tool", "templ", "generate", "-f", "web/components/"+f, "-stdout")
			cmd.Dir = filepath.Join("..", "..")
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				t.Fatalf("templ generate -f %s: %v\n%s", f, err, errOut.String())
			}
			committed, err := os.ReadFile(strings.TrimSuffix(f, ".templ") + "_templ.go")
			if err != nil {
				t.Fatalf("generated file missing: %v (run make generate)", err)
			}
			if !bytes.Equal(out.Bytes(), committed) {
				t.Errorf("%s_templ.go is stale: run make generate and commit the result", strings.TrimSuffix(f, ".templ"))
			}
		})
	}
}
