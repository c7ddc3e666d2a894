package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedDataIsFresh regenerates the demo files from the dataset and
// compares them with the committed ones. The dataset lives outside the
// repository; without it there is nothing to compare, so the test skips.
func TestCommittedDataIsFresh(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "datasets", "email-eu-core")
	if _, err := os.Stat(filepath.Join(src, labelsFile)); err != nil {
		t.Skipf("dataset not found at %s: %v", src, err)
	}
	out := t.TempDir()
	if err := run(src, out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{peopleFile, edgesFile} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("..", "..", "internal", "demo", "data", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("internal/demo/data/%s is stale: run go run ./cmd/orgdata", name)
		}
	}
}
