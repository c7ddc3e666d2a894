package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// account is a node the tool signed up, with its access token.
type account struct {
	Handle string `json:"handle"`
	Email  string `json:"email"`
	Token  string `json:"token"`
}

// group is a community the tool created; Members index the accounts.
type group struct {
	Slug    string `json:"slug"`
	Members []int  `json:"members"`
}

// state is what the state file keeps between runs: signing a node up costs an
// argon2 hash (about 40 ms of a core), so thousands of nodes are made once.
type state struct {
	Version  int       `json:"version"`
	Accounts []account `json:"accounts"`
	// Layout identifies the communities' plan (the accounts in it and the
	// size range): other nodes or sizes make new communities.
	Layout string  `json:"layout"`
	Groups []group `json:"groups"`
}

const stateVersion = 1

// password is every load node's password: they are test accounts on a bench.
const password = "loadgen bench password 2026"

// setupConcurrency bounds concurrent setup requests per target; sign-ups are
// bounded by the server's own hashing slots anyway.
const setupConcurrency = 8

func loadState(path string) state {
	if path == "" {
		return state{}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return state{}
	}
	var st state
	if json.Unmarshal(b, &st) != nil || st.Version != stateVersion {
		return state{}
	}
	return st
}

func saveState(path string, st state) error {
	if path == "" {
		return nil
	}
	st.Version = stateVersion
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// The file holds access tokens: readable by its owner only.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// apiCall sends one JSON request with an optional bearer token and decodes a
// 2xx answer into out (when not nil). Any other status is an error carrying
// the server's message.
func (r *runner) apiCall(ctx context.Context, method, url, token string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.api.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return resp.StatusCode, nil
}

// forEach runs fn(i) for i in [0, n) with bounded concurrency and returns the
// first error (the others still run: setup is idempotent and retried next run).
func forEach(ctx context.Context, n, concurrency int, fn func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(n, concurrency) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func (r *runner) target(i int) string { return r.cfg.Targets[i%len(r.cfg.Targets)] }

// liveAccounts keeps the accounts whose tokens still work. A few are tried
// first: when none of those works (another database), the rest are not.
func (r *runner) liveAccounts(ctx context.Context, accounts []account) []account {
	if len(accounts) == 0 {
		return nil
	}
	ok := make([]bool, len(accounts))
	check := func(ctx context.Context, i int) error {
		_, err := r.apiCall(ctx, http.MethodGet, r.target(i)+"/api/v1/me", accounts[i].Token, nil, nil)
		ok[i] = err == nil
		return nil
	}
	probe := min(len(accounts), 8)
	_ = forEach(ctx, probe, probe, check)
	if !slices.Contains(ok[:probe], true) {
		return nil
	}
	_ = forEach(ctx, len(accounts)-probe, setupConcurrency*len(r.cfg.Targets), func(ctx context.Context, i int) error {
		return check(ctx, i+probe)
	})
	var out []account
	for i, a := range accounts {
		if ok[i] {
			out = append(out, a)
		}
	}
	return out
}

// signUp creates n new nodes, spread over the targets.
func (r *runner) signUp(ctx context.Context, n int) ([]account, error) {
	prefix := "lg" + r.runID
	out := make([]account, n)
	var done atomic.Int64
	err := forEach(ctx, n, setupConcurrency*len(r.cfg.Targets), func(ctx context.Context, i int) error {
		handle := fmt.Sprintf("%s-%d", prefix, i)
		a := account{Handle: handle, Email: handle + "@loadgen.test"}
		var resp struct {
			Token string `json:"token"`
		}
		_, err := r.apiCall(ctx, http.MethodPost, r.target(i)+"/api/v1/signup", "", map[string]string{
			"email": a.Email, "password": password, "handle": handle, "display_name": "Load " + handle,
		}, &resp)
		if err != nil {
			return fmt.Errorf("sign up: %w", err)
		}
		a.Token = resp.Token
		out[i] = a
		if d := done.Add(1); d%500 == 0 {
			r.cfg.Logf("signed up %d of %d nodes", d, n)
		}
		return nil
	})
	var made []account
	for _, a := range out {
		if a.Token != "" {
			made = append(made, a)
		}
	}
	return made, err
}

// planSizes splits n nodes into communities whose sizes are drawn uniformly
// from [lo, hi] with a fixed seed (the same plan every run). Fewer than lo
// nodes make one community; a last remainder smaller than lo joins the
// previous community when that stays within hi, and is kept small otherwise.
func planSizes(n, lo, hi int) []int {
	if n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var sizes []int
	for left := n; left > 0; {
		size := min(lo+rng.IntN(hi-lo+1), left)
		sizes = append(sizes, size)
		left -= size
	}
	if k := len(sizes); k > 1 && sizes[k-1] < lo && sizes[k-2]+sizes[k-1] <= hi {
		sizes[k-2] += sizes[k-1]
		sizes = sizes[:k-1]
	}
	return sizes
}

// layoutKey names a plan: the accounts in it and the size range.
func layoutKey(accounts []account, lo, hi int) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d-%d\n", lo, hi)
	for _, a := range accounts {
		fmt.Fprintln(h, a.Handle)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// liveGroups reports whether every community of the state still exists with
// exactly its members.
func (r *runner) liveGroups(ctx context.Context, accounts []account, groups []group) bool {
	if len(groups) == 0 {
		return false
	}
	ok := make([]bool, len(groups))
	_ = forEach(ctx, len(groups), setupConcurrency, func(ctx context.Context, i int) error {
		g := groups[i]
		if len(g.Members) == 0 || g.Members[0] >= len(accounts) {
			return nil
		}
		var resp struct {
			Community struct {
				Members  int  `json:"members"`
				IsMember bool `json:"is_member"`
			} `json:"community"`
		}
		_, err := r.apiCall(ctx, http.MethodGet, r.target(i)+"/api/v1/communities/"+g.Slug, accounts[g.Members[0]].Token, nil, &resp)
		ok[i] = err == nil && resp.Community.IsMember && resp.Community.Members == len(g.Members)
		return nil
	})
	return !slices.Contains(ok, false)
}

// makeGroups creates the communities of the plan and has every member join.
func (r *runner) makeGroups(ctx context.Context, accounts []account) ([]group, error) {
	sizes := planSizes(len(accounts), r.cfg.CommunityMin, r.cfg.CommunityMax)
	groups := make([]group, len(sizes))
	next := 0
	for i, size := range sizes {
		groups[i].Slug = fmt.Sprintf("lg%s-%d", r.runID, i)
		for range size {
			groups[i].Members = append(groups[i].Members, next)
			next++
		}
	}
	err := forEach(ctx, len(groups), setupConcurrency, func(ctx context.Context, i int) error {
		g := groups[i]
		_, err := r.apiCall(ctx, http.MethodPost, r.target(i)+"/api/v1/communities", accounts[g.Members[0]].Token, map[string]any{
			"name": "Load " + g.Slug, "slug": g.Slug, "purpose": "Load test community (cmd/loadgen).", "open": true,
		}, nil)
		if err != nil {
			return fmt.Errorf("create community: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	type join struct{ group, member int }
	var joins []join
	for gi, g := range groups {
		for _, m := range g.Members[1:] {
			joins = append(joins, join{gi, m})
		}
	}
	var done atomic.Int64
	err = forEach(ctx, len(joins), setupConcurrency*len(r.cfg.Targets), func(ctx context.Context, i int) error {
		j := joins[i]
		_, err := r.apiCall(ctx, http.MethodPost, r.target(i)+"/api/v1/communities/"+groups[j.group].Slug+"/join", accounts[j.member].Token, nil, nil)
		if err != nil {
			return fmt.Errorf("join community: %w", err)
		}
		if d := done.Add(1); d%1000 == 0 {
			r.cfg.Logf("%d of %d joins", d, len(joins))
		}
		return nil
	})
	return groups, err
}

// setup returns the run's nodes (Config.Nodes of them) and, unless withGroups
// is false, their communities, reusing what the state file holds when it
// still works.
func (r *runner) setup(ctx context.Context, withGroups bool) ([]account, []group, error) {
	st := loadState(r.cfg.StatePath)
	// Only the nodes this run uses are tried; the others stay saved for runs
	// that need more, unless some failed (then every one is checked).
	head := st.Accounts[:min(len(st.Accounts), r.cfg.Nodes)]
	accounts := r.liveAccounts(ctx, head)
	switch {
	case len(accounts) == len(head):
		accounts = append(accounts, st.Accounts[len(head):]...)
	case len(accounts) > 0:
		accounts = r.liveAccounts(ctx, st.Accounts)
	}
	if len(st.Accounts) > 0 {
		r.cfg.Logf("state %s: %d of %d needed saved nodes still work", r.cfg.StatePath, min(len(accounts), r.cfg.Nodes), len(head))
	}
	if need := r.cfg.Nodes - len(accounts); need > 0 {
		r.cfg.Logf("signing up %d nodes", need)
		made, err := r.signUp(ctx, need)
		accounts = append(accounts, made...)
		if st.Accounts = accounts; len(made) > 0 {
			st.Layout, st.Groups = "", nil
			if serr := saveState(r.cfg.StatePath, st); serr != nil {
				r.cfg.Logf("save state: %v", serr)
			}
		}
		if err != nil {
			return nil, nil, err
		}
	}
	st.Accounts = accounts
	nodes := accounts[:r.cfg.Nodes]
	if !withGroups {
		return nodes, nil, saveState(r.cfg.StatePath, st)
	}
	key := layoutKey(nodes, r.cfg.CommunityMin, r.cfg.CommunityMax)
	if st.Layout == key && r.liveGroups(ctx, accounts, st.Groups) {
		r.cfg.Logf("reusing %d communities", len(st.Groups))
		return nodes, st.Groups, nil
	}
	r.cfg.Logf("creating communities of %d-%d for %d nodes", r.cfg.CommunityMin, r.cfg.CommunityMax, len(nodes))
	groups, err := r.makeGroups(ctx, nodes)
	if err != nil {
		return nil, nil, err
	}
	st.Layout, st.Groups = key, groups
	if err := saveState(r.cfg.StatePath, st); err != nil {
		return nil, nil, fmt.Errorf("save state: %w", err)
	}
	return nodes, groups, nil
}
