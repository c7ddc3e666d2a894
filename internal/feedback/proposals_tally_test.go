package feedback

import (
	"slices"
	"testing"
)

func TestDecideOutcome(t *testing.T) {
	q := func(n int) *int { return &n }
	consent := func(positions ...string) []ballot {
		var out []ballot
		for _, p := range positions {
			out = append(out, ballot{Position: p})
		}
		return out
	}
	poll := func(choices ...[]int) []ballot {
		var out []ballot
		for _, c := range choices {
			out = append(out, ballot{Choices: c})
		}
		return out
	}
	score := func(scores ...[]int) []ballot {
		var out []ballot
		for _, s := range scores {
			out = append(out, ballot{Scores: s})
		}
		return out
	}
	opts := []string{"A", "B", "C"}
	cases := []struct {
		name        string
		process     string
		quorum      *int
		votes       []ballot
		want        string
		wantLeading []int
	}{
		{"consent with agreement passes", ProcessConsent, nil, consent("agree", "agree", "abstain"), OutcomePassed, nil},
		{"consent fails on one block", ProcessConsent, nil, consent("agree", "agree", "agree", "block"), OutcomeFailed, nil},
		{"consent passes over disagreement without a block", ProcessConsent, nil, consent("agree", "disagree", "disagree"), OutcomePassed, nil},
		{"consent in silence passes without a quorum", ProcessConsent, nil, nil, OutcomePassed, nil},
		{"consent below the quorum fails", ProcessConsent, q(3), consent("agree", "agree"), OutcomeFailed, nil},
		{"consent at the quorum passes", ProcessConsent, q(2), consent("agree", "abstain"), OutcomePassed, nil},
		{"consent at the quorum with a block fails", ProcessConsent, q(2), consent("agree", "block"), OutcomeFailed, nil},
		{"poll winner", ProcessPoll, nil, poll([]int{1}, []int{1}, []int{0}), OutcomePassed, []int{1}},
		{"poll tie lists both", ProcessPoll, nil, poll([]int{0}, []int{2}), OutcomePassed, []int{0, 2}},
		{"poll with several choices each", ProcessPoll, nil, poll([]int{0, 1}, []int{1, 2}, []int{1}), OutcomePassed, []int{1}},
		{"poll without votes fails", ProcessPoll, nil, nil, OutcomeFailed, nil},
		{"poll below the quorum fails", ProcessPoll, q(4), poll([]int{0}, []int{0}, []int{0}), OutcomeFailed, []int{0}},
		{"score highest mean wins", ProcessScore, nil, score([]int{10, 0, 5}, []int{6, 10, 5}), OutcomePassed, []int{0}},
		{"score tie lists both", ProcessScore, nil, score([]int{10, 0, 10}, []int{0, 5, 0}), OutcomePassed, []int{0, 2}},
		{"score all zero still has winners", ProcessScore, nil, score([]int{0, 0, 0}), OutcomePassed, []int{0, 1, 2}},
		{"score without votes fails", ProcessScore, nil, nil, OutcomeFailed, nil},
		{"score below the quorum fails", ProcessScore, q(2), score([]int{1, 2, 3}), OutcomeFailed, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tally := countBallots(c.process, opts, c.votes)
			if got := decideOutcome(c.process, c.quorum, tally); got != c.want {
				t.Errorf("outcome = %s, want %s (tally %+v)", got, c.want, tally)
			}
			if !slices.Equal(tally.Leading, c.wantLeading) {
				t.Errorf("leading = %v, want %v", tally.Leading, c.wantLeading)
			}
			if tally.Votes != len(c.votes) {
				t.Errorf("votes = %d, want %d", tally.Votes, len(c.votes))
			}
		})
	}

	t.Run("score means", func(t *testing.T) {
		tally := countBallots(ProcessScore, opts, score([]int{10, 0, 5}, []int{6, 10, 4}))
		wantMeans := []float64{8, 5, 4.5}
		for i, o := range tally.Options {
			if *o.Mean != wantMeans[i] || o.Count != 2 {
				t.Errorf("option %d mean %v count %d, want %v and 2", i, *o.Mean, o.Count, wantMeans[i])
			}
		}
	})
	t.Run("consent counts every position", func(t *testing.T) {
		tally := countBallots(ProcessConsent, nil, consent("agree", "abstain", "disagree", "block", "agree"))
		want := map[string]int{"agree": 2, "abstain": 1, "disagree": 1, "block": 1}
		for k, v := range want {
			if tally.Positions[k] != v {
				t.Errorf("%s = %d, want %d", k, tally.Positions[k], v)
			}
		}
	})
}

func TestValidateVote(t *testing.T) {
	consent := proposalRules{Process: ProcessConsent}
	poll := proposalRules{Process: ProcessPoll, Options: []string{"A", "B", "C"}}
	multi := proposalRules{Process: ProcessPoll, Options: []string{"A", "B", "C"}, Multiple: true}
	score := proposalRules{Process: ProcessScore, Options: []string{"A", "B"}}
	cases := []struct {
		name  string
		rules proposalRules
		in    VoteInput
		field string // "" = valid
	}{
		{"agree", consent, VoteInput{Position: "agree"}, ""},
		{"position in capitals", consent, VoteInput{Position: " Abstain "}, ""},
		{"disagree with a reason", consent, VoteInput{Position: "disagree", Reason: "too soon"}, ""},
		{"disagree without a reason", consent, VoteInput{Position: "disagree"}, "reason"},
		{"block without a reason", consent, VoteInput{Position: "block", Reason: "   "}, "reason"},
		{"no position", consent, VoteInput{}, "position"},
		{"unknown position", consent, VoteInput{Position: "maybe"}, "position"},
		{"consent with choices", consent, VoteInput{Position: "agree", Choices: []int{0}}, "choices"},
		{"consent with scores", consent, VoteInput{Position: "agree", Scores: []int{1}}, "scores"},
		{"reason too long", consent, VoteInput{Position: "agree", Reason: string(make([]byte, 2001))}, "reason"},
		{"one choice", poll, VoteInput{Choices: []int{2}}, ""},
		{"no choice", poll, VoteInput{}, "choices"},
		{"two choices in a single-choice poll", poll, VoteInput{Choices: []int{0, 1}}, "choices"},
		{"two choices in a multiple poll", multi, VoteInput{Choices: []int{2, 0}}, ""},
		{"the same choice twice", multi, VoteInput{Choices: []int{1, 1}}, "choices"},
		{"choice out of range", poll, VoteInput{Choices: []int{3}}, "choices"},
		{"negative choice", poll, VoteInput{Choices: []int{-1}}, "choices"},
		{"poll with a position", poll, VoteInput{Position: "agree", Choices: []int{0}}, "position"},
		{"poll with scores", poll, VoteInput{Choices: []int{0}, Scores: []int{1}}, "scores"},
		{"scores", score, VoteInput{Scores: []int{0, 10}}, ""},
		{"too few scores", score, VoteInput{Scores: []int{5}}, "scores"},
		{"too many scores", score, VoteInput{Scores: []int{5, 5, 5}}, "scores"},
		{"score above 10", score, VoteInput{Scores: []int{11, 0}}, "scores"},
		{"score below 0", score, VoteInput{Scores: []int{0, -1}}, "scores"},
		{"score with choices", score, VoteInput{Scores: []int{1, 1}, Choices: []int{0}}, "choices"},
		{"score with a position", score, VoteInput{Scores: []int{1, 1}, Position: "agree"}, "position"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			err := validateVote(c.rules, &in)
			if c.field == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			wantField(t, err, c.field)
		})
	}
	t.Run("multiple choices are stored in order", func(t *testing.T) {
		in := VoteInput{Choices: []int{2, 0}}
		if err := validateVote(multi, &in); err != nil || !slices.Equal(in.Choices, []int{0, 2}) {
			t.Errorf("choices %v (%v), want [0 2]", in.Choices, err)
		}
	})
}
