package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// jsonLines runs graphbench with args and decodes its JSON lines.
func jsonLines(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("run %v: %v (stderr %q)", args, err, errOut.String())
	}
	var lines []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, obj)
	}
	return lines
}

func checkLines(t *testing.T, lines []map[string]any, minModularity float64) {
	t.Helper()
	var names []string
	for _, l := range lines {
		name, _ := l["algorithm"].(string)
		names = append(names, name)
		keys := make([]string, 0, len(l))
		for k := range l {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"algorithm", "communities", "median_s", "modularity"}; !slices.Equal(keys, want) {
			t.Errorf("%s: keys %v, want %v", name, keys, want)
		}
		if s, ok := l["median_s"].(float64); !ok || s < 0 {
			t.Errorf("%s: median_s = %v, want seconds", name, l["median_s"])
		}
		q, hasQ := l["modularity"].(float64)
		k, hasK := l["communities"].(float64)
		switch name {
		case "louvain", "all":
			if !hasQ || !hasK || q < minModularity || k < 2 {
				t.Errorf("%s: modularity %v, communities %v; want ≥ %v and ≥ 2", name, l["modularity"], l["communities"], minModularity)
			}
		default:
			if l["modularity"] != nil || l["communities"] != nil {
				t.Errorf("%s: modularity %v, communities %v; want null", name, l["modularity"], l["communities"])
			}
		}
	}
	if !slices.Equal(names, algorithms) {
		t.Errorf("algorithms %v, want %v", names, algorithms)
	}
}

func TestGraphbenchJSON(t *testing.T) {
	t.Run("random graph", func(t *testing.T) {
		lines := jsonLines(t, "-nodes", "400", "-edges", "2000", "-seed", "3", "-runs", "1", "-json")
		checkLines(t, lines, 0.1)
	})
	t.Run("email-Eu-core", func(t *testing.T) {
		lines := jsonLines(t, "-in", "../../internal/demo/data/email-Eu-core.txt", "-runs", "1", "-json")
		checkLines(t, lines, 0.4)
		for _, l := range lines {
			t.Logf("%v", l)
		}
	})
}

func TestGraphbenchTable(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"-nodes", "300", "-edges", "900", "-runs", "3", "-algorithms", "louvain,pagerank"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"300 nodes, 900 edges", "median_s", "peak_heap_MB", "louvain", "pagerank"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "betweenness_sampled") {
		t.Errorf("table has an algorithm that was not asked for:\n%s", text)
	}
}

func TestGraphbenchErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"-in", "no-such-file.txt"}, "no-such-file.txt"},
		{"no runs", []string{"-runs", "0"}, "-runs 0"},
		{"unknown algorithm", []string{"-algorithms", "leiden"}, `unknown "leiden"`},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(tc.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
