package asks

import (
	"testing"
	"time"
)

func TestUnansweredCount(t *testing.T) {
	f := newFixture(t)
	f.person("ana", "go")
	f.person("ben", "go")
	old := f.ask("ana", AskInput{Title: "Old and unanswered", Tags: []string{"go"}})
	answered := f.ask("ana", AskInput{Title: "Old but answered", Tags: []string{"go"}})
	f.ask("ana", AskInput{Title: "Fresh", Tags: []string{"go"}})
	if _, err := f.pool.Exec(f.ctx, `UPDATE asks SET created_at = now() - interval '2 days' WHERE id = ANY($1)`,
		[]int64{old.Ask.ID, answered.Ask.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AnswerAsk(f.ctx, f.id("ben"), answered.Ask.ID, "Try this."); err != nil {
		t.Fatal(err)
	}
	n, err := f.s.UnansweredCount(f.ctx, 24*time.Hour)
	if err != nil || n != 1 {
		t.Errorf("unanswered for a day = %d, %v; want 1 (not the answered one, not the fresh one)", n, err)
	}
}
