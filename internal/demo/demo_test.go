package demo

import (
	"bufio"
	"encoding/csv"
	"io"
	"strings"
	"testing"
)

// TestDataFacts checks the embedded files against the dataset's stated facts,
// without a database.
func TestDataFacts(t *testing.T) {
	rows, err := csv.NewReader(People()).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rows[0], ","), "id,handle,display_name,email,skills,community,title,location"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	departments := map[string]bool{}
	for _, r := range rows[1:] {
		departments[r[5]] = true
	}
	if got := len(rows) - 1; got != PeopleCount {
		t.Errorf("people = %d, want %d", got, PeopleCount)
	}
	if got := len(departments); got != DepartmentCount {
		t.Errorf("departments = %d, want %d", got, DepartmentCount)
	}
	ties, loops := 0, 0
	sc := bufio.NewScanner(Edges())
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			t.Fatalf("edge line %d: %q", ties+1, sc.Text())
		}
		ties++
		if f[0] == f[1] {
			loops++
		}
	}
	if ties != TieCount || loops != SelfLoopCount {
		t.Errorf("ties = %d with %d self-loops, want %d with %d", ties, loops, TieCount, SelfLoopCount)
	}
	// Each call starts from the beginning.
	a, _ := io.ReadAll(People())
	b, _ := io.ReadAll(People())
	if len(a) == 0 || string(a) != string(b) {
		t.Error("People() does not start over")
	}
}
