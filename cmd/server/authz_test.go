package main

// The authorization matrix (issue 9): every route the router serves, for each
// of four roles (anonymous, member, steward, people analyst), has an expected
// outcome in azCases. A route without an entry, or an entry without a route,
// fails TestAuthzMatrix, so nobody adds a route without deciding who may call
// it. Each request is made valid for the roles that may make it (real objects
// for the ids in the path, a body the handler accepts), so that what the test
// sees is the authorization decision and not a 404 or a 422.
//
// The same table drives TestCSRFNoStateChangeOnGET (no GET changes the
// database) and TestCSRFCrossOriginRefused (every unsafe route refuses a
// cross-origin request before its handler runs); TestIDORObjects checks the
// objects behind the ids.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/graph"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
	"github.com/nodecommunity/nodecommunity/web"
)

// Roles of the matrix, in the order of an azWant.
const (
	azAnon = iota
	azMember
	azSteward
	azAnalyst
)

var azRoleNames = [...]string{"anonymous", "member", "steward", "people analyst"}

// azOutcome is what a role gets from a route.
type azOutcome int

const (
	azOK     azOutcome = iota + 1 // allowed: 2xx, or a redirect anywhere but the sign-in page
	azSignin                      // a page sends the browser to /signin?next=…
	az401                         // the API asks to sign in
	az403                         // signed in, not allowed
)

func (o azOutcome) String() string {
	switch o {
	case azOK:
		return "allowed (2xx/3xx)"
	case azSignin:
		return "redirect to /signin"
	case az401:
		return "401"
	case az403:
		return "403"
	}
	return "unexpected"
}

// azClassify reads the outcome off a response.
func azClassify(status int, h http.Header) azOutcome {
	switch {
	case status == http.StatusUnauthorized:
		return az401
	case status == http.StatusForbidden:
		return az403
	case status >= 300 && status < 400 && strings.HasPrefix(h.Get("Location"), "/signin"):
		return azSignin
	case status >= 200 && status < 400:
		return azOK
	}
	return 0
}

// azWant is the expected outcome for anonymous, member, steward and analyst.
type azWant [4]azOutcome

var (
	azPublic      = azWant{azOK, azOK, azOK, azOK}
	azAPI         = azWant{az401, azOK, azOK, azOK}
	azPage        = azWant{azSignin, azOK, azOK, azOK}
	azAPISteward  = azWant{az401, az403, azOK, az403}
	azPageSteward = azWant{azSignin, az403, azOK, az403}
	azAPIAnalyst  = azWant{az401, az403, az403, azOK}
	azPageAnalyst = azWant{azSignin, az403, az403, azOK}
	azAPIAudit    = azWant{az401, az403, azOK, azOK} // stewards and people analysts read the audit log
	azPageAudit   = azWant{azSignin, az403, azOK, azOK}
)

// azReq is one request of a case, made for one owner.
type azReq struct {
	path    string
	json    any        // a JSON body
	form    url.Values // a form body
	raw     []byte     // a body sent as is, with rawType
	rawType string
	token   string // sent instead of the role's own token (logout must not end the role's)
	cookie  string // a session cookie to send as well (single sign-on keeps its pending sign-in there)
	stream  bool   // an event stream: only the status and headers are read
}

// azPrep makes the request valid for owner: the objects in the path exist and
// owner may act on them. Anonymous requests use the member's objects.
type azPrep func(t *testing.T, f *azFixture, owner *azActor) azReq

// azCase is one entry of the matrix. Method "*" stands for every method of a
// route mounted with Handle (it is requested with GET).
type azCase struct {
	method, pattern string
	want            azWant
	prep            azPrep
}

func azPath(p string) azPrep {
	return func(*testing.T, *azFixture, *azActor) azReq { return azReq{path: p} }
}

func azStream(p string) azPrep {
	return func(*testing.T, *azFixture, *azActor) azReq { return azReq{path: p, stream: true} }
}

func azJSON(p string, body func(f *azFixture, o *azActor) any) azPrep {
	return func(_ *testing.T, f *azFixture, o *azActor) azReq { return azReq{path: p, json: body(f, o)} }
}

func azForm(p string, form func(f *azFixture, o *azActor) url.Values) azPrep {
	return func(_ *testing.T, f *azFixture, o *azActor) azReq { return azReq{path: p, form: form(f, o)} }
}

// azCases is the matrix. Keep it in the order of the routes' patterns.
func azCases() []azCase {
	sp := fmt.Sprintf
	shareBody := func(f *azFixture, _ *azActor) any {
		return map[string]any{"body": sp("authz share %d", f.next()), "audience": "everyone"}
	}
	return []azCase{
		{"GET", "/", azPublic, azPath("/")},

		// Asks.
		{"GET", "/api/v1/asks", azAPI, azPath("/api/v1/asks")},
		{"POST", "/api/v1/asks", azAPI, azJSON("/api/v1/asks", func(f *azFixture, _ *azActor) any {
			return map[string]any{"title": sp("authz need %d", f.next()), "body": "help", "tags": []string{"authz"}}
		})},
		{"GET", "/api/v1/asks/{id}", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/asks/%d", f.ask(t, f.peer))}
		}},
		{"POST", "/api/v1/asks/{id}/answers", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/asks/%d/answers", f.ask(t, f.peer)), json: map[string]any{"body": "try this"}}
		}},
		{"POST", "/api/v1/asks/{id}/answers/{aid}/accept", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			ask := f.ask(t, o)
			return azReq{path: sp("/api/v1/asks/%d/answers/%d/accept", ask, f.answer(t, f.peer, ask))}
		}},
		{"POST", "/api/v1/asks/{id}/answers/{aid}/reactions", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			ask := f.ask(t, f.peer)
			return azReq{path: sp("/api/v1/asks/%d/answers/%d/reactions", ask, f.answer(t, f.peer2, ask)),
				json: map[string]any{"reaction": "thanks"}}
		}},
		{"DELETE", "/api/v1/asks/{id}/answers/{aid}/reactions/{reaction}", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			ask := f.ask(t, f.peer)
			p := sp("/api/v1/asks/%d/answers/%d/reactions", ask, f.answer(t, f.peer2, ask))
			f.api(t, "POST", p, o, map[string]any{"reaction": "thanks"}, http.StatusOK, http.StatusCreated)
			return azReq{path: p + "/thanks"}
		}},
		{"POST", "/api/v1/asks/{id}/close", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/asks/%d/close", f.ask(t, o))}
		}},
		{"POST", "/api/v1/asks/{id}/decline", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			ask := f.ask(t, f.peer)
			f.offer(t, ask, o)
			return azReq{path: sp("/api/v1/asks/%d/decline", ask)}
		}},
		{"POST", "/api/v1/asks/{id}/refer", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			ask, x := f.ask(t, f.peer), f.spare(t)
			f.connect(t, o, x)
			return azReq{path: sp("/api/v1/asks/%d/refer", ask), json: map[string]any{"to_handle": x.handle}}
		}},

		{"GET", "/api/v1/audit", azAPIAudit, azPath("/api/v1/audit")},
		{"GET", "/api/v1/cluster", azPublic, azPath("/api/v1/cluster")},

		// Communities.
		{"GET", "/api/v1/communities", azAPI, azPath("/api/v1/communities")},
		{"POST", "/api/v1/communities", azAPI, azJSON("/api/v1/communities", func(f *azFixture, _ *azActor) any {
			slug := sp("az-new-%d", f.next())
			return map[string]any{"name": "Authz " + slug, "slug": slug, "purpose": "testing"}
		})},
		{"GET", "/api/v1/communities/{slug}", azAPI, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/communities/" + f.commons}
		}},
		{"PATCH", "/api/v1/communities/{slug}", azAPI, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/communities/" + f.commons, json: map[string]any{"purpose": sp("purpose %d", f.next())}}
		}},
		{"POST", "/api/v1/communities/{slug}/join", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/communities/" + f.community(t, f.peer, true) + "/join"}
		}},
		{"POST", "/api/v1/communities/{slug}/leave", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			slug := f.community(t, f.peer, true)
			f.join(t, o, slug)
			return azReq{path: "/api/v1/communities/" + slug + "/leave"}
		}},
		{"GET", "/api/v1/communities/{slug}/shares", azAPI, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/communities/" + f.commons + "/shares"}
		}},
		{"POST", "/api/v1/communities/{slug}/shares", azAPI, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/communities/" + f.commons + "/shares", json: map[string]any{"body": sp("to the commons %d", f.next())}}
		}},

		// Connections.
		{"GET", "/api/v1/connections", azAPI, azPath("/api/v1/connections")},
		{"POST", "/api/v1/connections", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/connections", json: map[string]any{"to_handle": f.spare(t).handle, "kind": "collaborate"}}
		}},
		{"GET", "/api/v1/connections/suggestions", azAPI, azPath("/api/v1/connections/suggestions")},
		{"DELETE", "/api/v1/connections/{id}", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/connections/%d", f.connect(t, o, f.spare(t)))}
		}},
		{"POST", "/api/v1/connections/{id}/accept", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/connections/%d/accept", f.request(t, f.spare(t), o))}
		}},
		{"POST", "/api/v1/connections/{id}/decline", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/connections/%d/decline", f.request(t, f.spare(t), o))}
		}},
		{"POST", "/api/v1/connections/{id}/withdraw", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/connections/%d/withdraw", f.request(t, o, f.spare(t)))}
		}},

		{"GET", "/api/v1/events", azAPI, azStream("/api/v1/events")},
		{"GET", "/api/v1/feed", azAPI, azPath("/api/v1/feed")},

		// Network analytics: named organisation-wide data for analysts only.
		{"GET", "/api/v1/graph/communities", azAPI, azPath("/api/v1/graph/communities")},
		{"GET", "/api/v1/graph/export.csv", azAPIAnalyst, azPath("/api/v1/graph/export.csv")},
		{"GET", "/api/v1/graph/export.gexf", azAPIAnalyst, azPath("/api/v1/graph/export.gexf")},
		{"GET", "/api/v1/graph/export.graphml", azAPIAnalyst, azPath("/api/v1/graph/export.graphml")},
		{"GET", "/api/v1/graph/me", azAPI, azPath("/api/v1/graph/me")},
		{"GET", "/api/v1/graph/metrics", azAPIAnalyst, azPath("/api/v1/graph/metrics")},

		{"POST", "/api/v1/invites", azAPISteward, azPath("/api/v1/invites")},

		{"GET", "/api/v1/kudos", azAPI, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/kudos?to=" + f.peer.handle}
		}},
		{"POST", "/api/v1/kudos", azAPI, azJSON("/api/v1/kudos", func(f *azFixture, _ *azActor) any {
			return map[string]any{"to_handle": f.peer.handle, "message": "thanks for the review"}
		})},

		// Accounts. Signing in and out is for anyone; logout gets a token of its
		// own, so that it does not end the role's.
		{"POST", "/api/v1/login", azPublic, azJSON("/api/v1/login", func(_ *azFixture, o *azActor) any {
			return map[string]any{"email": o.email(), "password": testPassword}
		})},
		{"POST", "/api/v1/logout", azPublic, func(t *testing.T, f *azFixture, o *azActor) azReq {
			_, token := f.newToken(t, o)
			return azReq{path: "/api/v1/logout", token: token}
		}},
		{"GET", "/api/v1/me", azAPI, azPath("/api/v1/me")},
		{"GET", "/api/v1/me/export", azAPI, azPath("/api/v1/me/export")},
		{"GET", "/api/v1/me/sessions", azAPI, azPath("/api/v1/me/sessions")},
		{"POST", "/api/v1/me/sessions/end", azAPI, azJSON("/api/v1/me/sessions/end", func(*azFixture, *azActor) any {
			// Every browser session of the role ends; it acts with its token.
			return map[string]any{"all": true, "password": testPassword}
		})},
		{"POST", "/api/v1/me/password", azAPI, azJSON("/api/v1/me/password", func(*azFixture, *azActor) any {
			// The same password again, keeping the other sessions: allowed,
			// and the matrix's roles keep signing in with it.
			return map[string]any{"current_password": testPassword, "new_password": testPassword}
		})},
		{"PATCH", "/api/v1/me", azAPI, azJSON("/api/v1/me", func(f *azFixture, _ *azActor) any {
			return map[string]any{"title": sp("Tester %d", f.next())}
		})},
		{"POST", "/api/v1/nodes/{handle}/deactivate", azAPISteward, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/nodes/" + f.spare(t).handle + "/deactivate"}
		}},
		{"POST", "/api/v1/nodes/{handle}/password-reset", azAPISteward, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/nodes/" + f.spare(t).handle + "/password-reset"}
		}},
		{"POST", "/api/v1/nodes/{handle}/sessions/end", azAPISteward, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/nodes/" + f.spare(t).handle + "/sessions/end"}
		}},
		{"POST", "/api/v1/nodes/{handle}/steward", azAPISteward, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/api/v1/nodes/" + f.spare(t).handle + "/steward"}
		}},
		{"GET", "/api/v1/offers", azAPI, azPath("/api/v1/offers?q=authz")},

		// Proposals.
		{"GET", "/api/v1/proposals", azAPI, azPath("/api/v1/proposals")},
		{"POST", "/api/v1/proposals", azAPI, azJSON("/api/v1/proposals", func(f *azFixture, _ *azActor) any {
			return map[string]any{"community_slug": f.commons, "title": sp("authz proposal %d", f.next()), "process": "consent",
				"closes_at": proposalAt(time.Hour)}
		})},
		{"GET", "/api/v1/proposals/{id}", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/proposals/%d", f.proposal(t, f.peer))}
		}},
		{"POST", "/api/v1/proposals/{id}/outcome", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/proposals/%d/outcome", f.closedProposal(t, f.peer)), json: map[string]any{"statement": "we agreed"}}
		}},
		{"POST", "/api/v1/proposals/{id}/votes", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/proposals/%d/votes", f.proposal(t, f.peer)), json: map[string]any{"position": "agree"}}
		}},

		{"GET", "/api/v1/search", azAPI, azPath("/api/v1/search?q=authz")},

		// Shares, their marks and corrections.
		{"POST", "/api/v1/shares", azAPI, azJSON("/api/v1/shares", shareBody)},
		{"DELETE", "/api/v1/shares/{id}", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/shares/%d", f.share(t, o))}
		}},
		{"GET", "/api/v1/shares/{id}", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/shares/%d", f.share(t, f.peer))}
		}},
		{"PATCH", "/api/v1/shares/{id}", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/shares/%d", f.share(t, o)), json: map[string]any{"body": "edited"}}
		}},
		{"GET", "/api/v1/shares/{id}/cascade", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/shares/%d/cascade", f.share(t, f.peer))}
		}},
		{"PUT", "/api/v1/shares/{id}/correction", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/shares/%d/correction", f.share(t, o)), json: map[string]any{"body": "a correction"}}
		}},
		{"GET", "/api/v1/shares/{id}/history", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/shares/%d/history", f.share(t, o))}
		}},
		{"DELETE", "/api/v1/shares/{id}/marks", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			id := f.share(t, f.peer)
			f.mark(t, o, id)
			return azReq{path: sp("/api/v1/shares/%d/marks", id)}
		}},
		{"POST", "/api/v1/shares/{id}/marks", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/shares/%d/marks", f.share(t, f.peer)), json: map[string]any{"verdict": "confirmed"}}
		}},
		{"POST", "/api/v1/shares/{id}/reshare", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/shares/%d/reshare", f.share(t, f.peer))}
		}},

		{"POST", "/api/v1/signup", azPublic, azJSON("/api/v1/signup", func(f *azFixture, _ *azActor) any {
			h := sp("az-new-%d", f.next())
			return map[string]any{"email": h + "@example.test", "password": testPassword, "handle": h, "display_name": "New " + h}
		})},

		// Feedback threads.
		{"GET", "/api/v1/threads", azAPI, azPath("/api/v1/threads")},
		{"POST", "/api/v1/threads", azAPI, azJSON("/api/v1/threads", func(f *azFixture, _ *azActor) any {
			return map[string]any{"community_slug": f.commons, "kind": "question", "title": sp("authz thread %d", f.next()), "body": "?"}
		})},
		{"GET", "/api/v1/threads/{id}", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/threads/%d", f.thread(t, f.peer))}
		}},
		{"POST", "/api/v1/threads/{id}/read", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/threads/%d/read", f.thread(t, f.peer)), json: map[string]any{"last_reply_id": 0}}
		}},
		{"POST", "/api/v1/threads/{id}/replies", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/api/v1/threads/%d/replies", f.thread(t, f.peer)), json: map[string]any{"body": "a reply"}}
		}},
		{"PATCH", "/api/v1/threads/{id}/replies/{rid}", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			th := f.thread(t, f.peer)
			return azReq{path: sp("/api/v1/threads/%d/replies/%d", th, f.reply(t, o, th)), json: map[string]any{"body": "edited reply"}}
		}},
		{"GET", "/api/v1/threads/{id}/replies/{rid}/history", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			th := f.thread(t, f.peer)
			return azReq{path: sp("/api/v1/threads/%d/replies/%d/history", th, f.reply(t, o, th))}
		}},
		{"POST", "/api/v1/threads/{id}/replies/{rid}/reactions", azAPI, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			th := f.thread(t, f.peer)
			return azReq{path: sp("/api/v1/threads/%d/replies/%d/reactions", th, f.reply(t, f.peer, th)), json: map[string]any{"reaction": "thanks"}}
		}},
		{"POST", "/api/v1/threads/{id}/resolve", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/api/v1/threads/%d/resolve", f.thread(t, o)), json: map[string]any{"summary": "settled"}}
		}},

		// Personal access tokens.
		{"GET", "/api/v1/tokens", azAPI, azPath("/api/v1/tokens")},
		{"POST", "/api/v1/tokens", azAPI, azJSON("/api/v1/tokens", func(*azFixture, *azActor) any { return map[string]any{"name": "ci"} })},
		{"DELETE", "/api/v1/tokens/{id}", azAPI, func(t *testing.T, f *azFixture, o *azActor) azReq {
			id, _ := f.newToken(t, o)
			return azReq{path: sp("/api/v1/tokens/%d", id)}
		}},

		// Pages: asks.
		{"POST", "/asks", azPage, azForm("/asks", func(f *azFixture, _ *azActor) url.Values {
			return url.Values{"title": {sp("authz need %d", f.next())}, "body": {"help"}, "tags": {"authz"}}
		})},
		{"GET", "/asks/{id}", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/asks/%d", f.ask(t, f.peer))}
		}},
		{"POST", "/asks/{id}/answers", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/asks/%d/answers", f.ask(t, f.peer)), form: url.Values{"body": {"try this"}}}
		}},
		{"POST", "/asks/{id}/answers/{aid}/accept", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			ask := f.ask(t, o)
			return azReq{path: sp("/asks/%d/answers/%d/accept", ask, f.answer(t, f.peer, ask)), form: url.Values{}}
		}},
		{"POST", "/asks/{id}/answers/{aid}/react", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			ask := f.ask(t, f.peer)
			return azReq{path: sp("/asks/%d/answers/%d/react", ask, f.answer(t, f.peer2, ask)), form: url.Values{"reaction": {"thanks"}}}
		}},
		{"POST", "/asks/{id}/close", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/asks/%d/close", f.ask(t, o)), form: url.Values{}}
		}},
		{"POST", "/asks/{id}/decline", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			ask := f.ask(t, f.peer)
			f.offer(t, ask, o)
			return azReq{path: sp("/asks/%d/decline", ask), form: url.Values{}}
		}},
		{"POST", "/asks/{id}/refer", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			ask, x := f.ask(t, f.peer), f.spare(t)
			f.connect(t, o, x)
			return azReq{path: sp("/asks/%d/refer", ask), form: url.Values{"to_handle": {x.handle}}}
		}},

		{"GET", "/audit", azPageAudit, azPath("/audit")},

		// Single sign-on: anyone may start one, and come back from the
		// provider (the pending sign-in is in the browser's session).
		{"GET", "/auth/oidc/callback", azPublic, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			n := f.next()
			f.issuer.set(fakeUser{Sub: sp("az-sso-%d", n), Email: sp("az-sso-%d@example.test", n), Verified: true, Name: "Single Sign-On"}, "")
			b := newSSOBrowser()
			back := b.toProvider(t, f.url, f.issuer.url, "")
			return azReq{path: strings.TrimPrefix(back, f.url), cookie: SessionCookie + "=" + b.sessionCookie(t, f.url)}
		}},
		{"GET", "/auth/oidc/start", azPublic, azPath("/auth/oidc/start")},

		{"GET", "/cluster", azPublic, azPath("/cluster")},
		{"GET", "/cluster/live", azPublic, azStream("/cluster/live")},

		// Pages: communities.
		{"GET", "/communities", azPage, azPath("/communities")},
		{"POST", "/communities", azPage, azForm("/communities", func(f *azFixture, _ *azActor) url.Values {
			slug := sp("az-new-%d", f.next())
			return url.Values{"name": {"Authz " + slug}, "slug": {slug}, "purpose": {"testing"}, "open": {"true"}}
		})},
		{"GET", "/communities/{slug}", azPage, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/communities/" + f.commons}
		}},
		{"POST", "/communities/{slug}/join", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/communities/" + f.community(t, f.peer, true) + "/join", form: url.Values{}}
		}},
		{"POST", "/communities/{slug}/leave", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			slug := f.community(t, f.peer, true)
			f.join(t, o, slug)
			return azReq{path: "/communities/" + slug + "/leave", form: url.Values{}}
		}},
		{"POST", "/communities/{slug}/purpose", azPage, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/communities/" + f.commons + "/purpose", form: url.Values{"purpose": {sp("purpose %d", f.next())}}}
		}},

		// Pages: connections.
		{"GET", "/connections", azPage, azPath("/connections")},
		{"POST", "/connections", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/connections", form: url.Values{"to_handle": {f.spare(t).handle}, "kind": {"collaborate"}}}
		}},
		{"POST", "/connections/{id}/{action}", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/connections/%d/accept", f.request(t, f.spare(t), o)), form: url.Values{}}
		}},

		{"GET", "/healthz", azPublic, azPath("/healthz")},

		// Stewards import people.
		{"GET", "/import", azPageSteward, azPath("/import")},
		{"POST", "/import", azPageSteward, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			h := sp("az-imp-%d", f.next())
			body, ct := azMultipart(t, "nodes", "handle,display_name,email\n"+h+",Imported "+h+","+h+"@example.test\n")
			return azReq{path: "/import", raw: body, rawType: ct}
		}},

		{"GET", "/live", azPage, azStream("/live")},
		// Prometheus metrics: process figures and counts by route pattern, no
		// personal data (web/metrics.go).
		{"GET", "/metrics", azPublic, azPath("/metrics")},
		{"GET", "/needs", azPage, azPath("/needs")},

		// Pages: network analytics.
		{"GET", "/network", azPage, azPath("/network")},
		{"GET", "/network/access", azPageAudit, azPath("/network/access")},
		{"POST", "/network/access", azPageSteward, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/network/access", form: url.Values{"handle": {f.spare(t).handle}, "action": {"grant"}}}
		}},
		{"GET", "/network/communities", azPage, azPath("/network/communities")},
		{"GET", "/network/communities/{id}", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/network/communities/%d", f.publicCommunity(t))}
		}},
		{"GET", "/network/map", azPageAnalyst, azPath("/network/map")},
		{"GET", "/network/map/table", azPageAnalyst, azPath("/network/map/table")},
		{"GET", "/network/pulse", azPage, azPath("/network/pulse")},
		{"GET", "/network/trends", azPage, azPath("/network/trends")},

		// Pages: people.
		{"GET", "/people", azPage, azPath("/people")},
		{"GET", "/people/{handle}", azPage, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/people/" + f.peer.handle}
		}},
		{"POST", "/people/{handle}/kudos", azPage, func(_ *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/people/" + f.peer.handle + "/kudos", form: url.Values{"message": {"thank you"}, "public": {"true"}}}
		}},

		// Pages: proposals.
		{"GET", "/proposals", azPage, azPath("/proposals")},
		{"POST", "/proposals", azPage, azForm("/proposals", func(f *azFixture, _ *azActor) url.Values {
			return url.Values{"community_slug": {f.commons}, "title": {sp("authz proposal %d", f.next())}, "process": {"consent"},
				"closes_at": {proposalAt(time.Hour)}}
		})},
		{"GET", "/proposals/new", azPage, azPath("/proposals/new")},
		{"GET", "/proposals/{id}", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/proposals/%d", f.proposal(t, f.peer))}
		}},
		{"GET", "/proposals/{id}/live", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/proposals/%d/live", f.proposal(t, f.peer)), stream: true}
		}},
		{"POST", "/proposals/{id}/outcome", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/proposals/%d/outcome", f.closedProposal(t, f.peer)), form: url.Values{"statement": {"we agreed"}}}
		}},
		{"POST", "/proposals/{id}/vote", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/proposals/%d/vote", f.proposal(t, f.peer)), form: url.Values{"position": {"agree"}}}
		}},

		{"GET", "/readyz", azPublic, azPath("/readyz")},
		{"GET", "/search", azPage, azPath("/search?q=authz")},
		{"GET", "/settings/data", azPage, azPath("/settings/data")},
		{"GET", "/settings/data/export", azPage, azPath("/settings/data/export")},
		{"GET", "/settings/sessions", azPage, azPath("/settings/sessions")},
		{"POST", "/settings/sessions/end", azPage, azForm("/settings/sessions/end", func(*azFixture, *azActor) url.Values {
			return url.Values{"all": {"1"}, "password": {testPassword}}
		})},
		{"POST", "/nodes/{handle}/sessions/end", azPageSteward, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/nodes/" + f.spare(t).handle + "/sessions/end", form: url.Values{}}
		}},
		// Anyone holding a reset link may use it; using it ends every session,
		// so everyone is sent to sign in.
		{"GET", "/reset-password", azPublic, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/reset-password?token=" + url.QueryEscape(azReset(t, f))}
		}},
		{"POST", "/reset-password", azWant{azSignin, azSignin, azSignin, azSignin}, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: "/reset-password", form: url.Values{"token": {azReset(t, f)}, "new_password": {"seven quiet rivers under glass"}}}
		}},
		{"GET", "/settings/password", azPage, azPath("/settings/password")},
		{"POST", "/settings/password", azPage, azForm("/settings/password", func(*azFixture, *azActor) url.Values {
			return url.Values{"current_password": {testPassword}, "new_password": {testPassword}}
		})},
		{"GET", "/settings/profile", azPage, azPath("/settings/profile")},
		{"POST", "/settings/profile", azPage, azForm("/settings/profile", func(f *azFixture, _ *azActor) url.Values {
			return url.Values{"title": {sp("Tester %d", f.next())}}
		})},

		// Pages: shares.
		{"POST", "/shares", azPage, azForm("/shares", func(f *azFixture, _ *azActor) url.Values {
			return url.Values{"body": {sp("authz share %d", f.next())}, "audience": {"everyone"}}
		})},
		{"GET", "/shares/{id}", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/shares/%d", f.share(t, f.peer))}
		}},
		{"GET", "/shares/{id}/correction", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/shares/%d/correction", f.share(t, o))}
		}},
		{"POST", "/shares/{id}/correction", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/shares/%d/correction", f.share(t, o)), form: url.Values{"body": {"a correction"}}}
		}},
		{"POST", "/shares/{id}/delete", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/shares/%d/delete", f.share(t, o)), form: url.Values{}}
		}},
		{"GET", "/shares/{id}/edit", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/shares/%d/edit", f.share(t, o))}
		}},
		{"POST", "/shares/{id}/edit", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/shares/%d/edit", f.share(t, o)), form: url.Values{"body": {"edited"}}}
		}},
		{"GET", "/shares/{id}/marks", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/shares/%d/marks", f.share(t, f.peer))}
		}},
		{"POST", "/shares/{id}/marks", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/shares/%d/marks", f.share(t, f.peer)), form: url.Values{"verdict": {"confirmed"}}}
		}},
		{"POST", "/shares/{id}/marks/delete", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			id := f.share(t, f.peer)
			f.mark(t, o, id)
			return azReq{path: sp("/shares/%d/marks/delete", id), form: url.Values{}}
		}},
		{"POST", "/shares/{id}/reshare", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/shares/%d/reshare", f.share(t, f.peer)), form: url.Values{}}
		}},

		// Pages: signing up, in and out.
		{"GET", "/signin", azPublic, azPath("/signin")},
		{"POST", "/signin", azPublic, azForm("/signin", func(_ *azFixture, o *azActor) url.Values {
			return url.Values{"email": {o.email()}, "password": {testPassword}}
		})},
		{"POST", "/signout", azPublic, func(t *testing.T, f *azFixture, o *azActor) azReq {
			_, token := f.newToken(t, o)
			return azReq{path: "/signout", form: url.Values{}, token: token}
		}},
		{"GET", "/signup", azPublic, azPath("/signup")},
		{"POST", "/signup", azPublic, azForm("/signup", func(f *azFixture, _ *azActor) url.Values {
			h := sp("az-new-%d", f.next())
			return url.Values{"email": {h + "@example.test"}, "password": {testPassword}, "handle": {h}, "display_name": {"New " + h}}
		})},

		{"*", "/static/*", azPublic, azPath("/static/app.css")},

		// Pages: feedback threads.
		{"GET", "/threads", azPage, azPath("/threads")},
		{"POST", "/threads", azPage, azForm("/threads", func(f *azFixture, _ *azActor) url.Values {
			return url.Values{"audience": {"community"}, "community": {f.commons}, "kind": {"question"},
				"title": {sp("authz thread %d", f.next())}, "body": {"?"}}
		})},
		{"GET", "/threads/new", azPage, azPath("/threads/new")},
		{"GET", "/threads/{id}", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/threads/%d", f.thread(t, f.peer))}
		}},
		{"GET", "/threads/{id}/live", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/threads/%d/live", f.thread(t, f.peer)), stream: true}
		}},
		{"POST", "/threads/{id}/replies", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			return azReq{path: sp("/threads/%d/replies", f.thread(t, f.peer)), form: url.Values{"body": {"a reply"}}}
		}},
		{"GET", "/threads/{id}/replies/{rid}/edit", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			th := f.thread(t, f.peer)
			return azReq{path: sp("/threads/%d/replies/%d/edit", th, f.reply(t, o, th))}
		}},
		{"POST", "/threads/{id}/replies/{rid}/edit", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			th := f.thread(t, f.peer)
			return azReq{path: sp("/threads/%d/replies/%d/edit", th, f.reply(t, o, th)), form: url.Values{"body": {"edited reply"}}}
		}},
		{"POST", "/threads/{id}/replies/{rid}/reactions", azPage, func(t *testing.T, f *azFixture, _ *azActor) azReq {
			th := f.thread(t, f.peer)
			return azReq{path: sp("/threads/%d/replies/%d/reactions", th, f.reply(t, f.peer, th)), form: url.Values{"reaction": {"thanks"}}}
		}},
		{"POST", "/threads/{id}/resolve", azPage, func(t *testing.T, f *azFixture, o *azActor) azReq {
			return azReq{path: sp("/threads/%d/resolve", f.thread(t, o)), form: url.Values{"summary": {"settled"}}}
		}},
	}
}

// azCheckCoverage compares the table with the router: every route needs an
// entry and every entry a route.
func azCheckCoverage(t *testing.T, cases []azCase) {
	t.Helper()
	routes := web.Routes()
	if len(routes) == 0 {
		t.Fatal("web.Routes() lists no routes")
	}
	have, patterns := map[string]bool{}, map[string]bool{}
	for _, r := range routes {
		have[r.Method+" "+r.Pattern] = true
		patterns[r.Pattern] = true
	}
	entries := map[string]bool{}
	for _, c := range cases {
		k := c.method + " " + c.pattern
		if entries[k] {
			t.Errorf("the authorization table has two entries for %s", k)
		}
		entries[k] = true
		if (c.method == "*" && !patterns[c.pattern]) || (c.method != "*" && !have[k]) {
			t.Errorf("the authorization table has an entry for %s, but the router has no such route: remove the entry or fix its pattern", k)
		}
	}
	for _, r := range routes {
		if !entries[r.Method+" "+r.Pattern] && !entries["* "+r.Pattern] {
			t.Errorf("route %s %s has no entry in the authorization table (azCases in cmd/server/authz_test.go): decide what anonymous people, members, stewards and people analysts get from it", r.Method, r.Pattern)
		}
	}
}

func TestAuthzMatrix(t *testing.T) {
	cases := azCases()
	t.Run("every route has an entry and every entry a route", func(t *testing.T) { azCheckCoverage(t, cases) })

	f := newAzFixture(t, "authz-matrix")
	for _, c := range cases {
		method := c.method
		if method == "*" {
			method = http.MethodGet
		}
		t.Run(c.method+" "+c.pattern, func(t *testing.T) {
			for role := azAnon; role <= azAnalyst; role++ {
				rq := c.prep(t, f, f.owner(role))
				st, h, body := f.send(t, method, rq, f.tokenFor(role, rq), "", nil)
				if got := azClassify(st, h); got != c.want[role] {
					t.Errorf("as %s: %s %s = %d %s (%s), want %s: %.300s",
						azRoleNames[role], method, rq.path, st, h.Get("Location"), got, c.want[role], body)
				}
			}
		})
	}
}

// --- the fixture ---

// azActor is a node and the token it calls the API with.
type azActor struct {
	handle, token string
	id            int64
}

// azReset is a fresh reset link for a spare person, made by the steward.
func azReset(t *testing.T, f *azFixture) string {
	t.Helper()
	r, err := f.store.CreateReset(context.Background(), f.roles[azSteward].id, f.spare(t).handle)
	if err != nil {
		t.Fatal(err)
	}
	return r.Token
}

func (a *azActor) email() string { return a.handle + "@example.test" }

// azFixture is a running instance with the three signed-in roles, two more
// people (peer owns what others act on, peer2 helps), an open community all
// five belong to, spare imported people for requests that use one up, and a
// crafted analytics snapshot (the recomputer is held off, so that no
// background computation writes while the GET walk watches the database).
type azFixture struct {
	url         string
	pool        *pgxpool.Pool
	store       *community.Store
	roles       [4]*azActor // [azAnon] is nil
	peer, peer2 *azActor
	commons     string
	spares      []string
	n           int
	issuer      *fakeIssuer // the single sign-on provider (cmd/server/oidc_test.go)
}

// azSpares is how many spare people the fixture imports.
const azSpares = 240

func newAzFixture(t *testing.T, name string) *azFixture {
	t.Helper()
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	graphHoldRecompute(t, pool)
	// Single sign-on is on, so that its routes can be walked too.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	const clientID, secret = "authz-test", "authz-secret"
	issuer := newFakeIssuer(t, ln, clientID, secret, base+"/auth/oidc/callback")
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": name, "REGISTRATION": "open",
		"HTTP_ADDR": strings.TrimPrefix(base, "http://"), "OIDC_ISSUER": issuer.url, "OIDC_CLIENT_ID": clientID,
		"OIDC_CLIENT_SECRET": secret, "OIDC_REDIRECT_URL": base + "/auth/oidc/callback", "OIDC_EMAIL_DOMAIN": "example.test"})
	f := &azFixture{url: in.url, pool: pool, store: community.NewStore(pool), issuer: issuer}

	// The first sign-up of an organisation is its steward.
	for _, r := range []struct {
		role   int
		handle string
	}{{azSteward, "az-steward"}, {azMember, "az-member"}, {azAnalyst, "az-analyst"}} {
		f.roles[r.role] = f.actor(t, r.handle, signupNode(t, f.url, r.handle))
	}
	if _, err := f.store.SetCapability(ctx, 0, "az-analyst", community.CapabilityPeopleAnalyst, true); err != nil {
		t.Fatalf("grant people_analyst: %v", err)
	}

	// Imported people have no password: cheap to make by the hundred.
	var csv strings.Builder
	csv.WriteString("handle,display_name,email\naz-peer,Az Peer,az-peer@example.test\naz-whisper,Whisper Writer,az-whisper@example.test\n")
	for i := range azSpares {
		h := fmt.Sprintf("az-spare-%03d", i)
		fmt.Fprintf(&csv, "%s,Spare %03d,%s@example.test\n", h, i, h)
		f.spares = append(f.spares, h)
	}
	if _, err := f.store.Import(ctx, community.ImportInput{Nodes: strings.NewReader(csv.String())}); err != nil {
		t.Fatalf("import: %v", err)
	}
	f.peer, f.peer2 = f.actor(t, "az-peer", ""), f.actor(t, "az-whisper", "")

	f.commons = f.community(t, f.peer, true)
	for _, a := range []*azActor{f.roles[azMember], f.roles[azSteward], f.roles[azAnalyst], f.peer2} {
		f.join(t, a, f.commons)
	}
	f.saveSnapshots(t)
	return f
}

// actor looks a node up and gives it a token when it has none.
func (f *azFixture) actor(t *testing.T, handle, token string) *azActor {
	t.Helper()
	ctx := context.Background()
	n, err := f.store.FindNodeByHandle(ctx, handle)
	if err != nil {
		t.Fatalf("find @%s: %v", handle, err)
	}
	if token == "" {
		if _, token, err = f.store.CreateAccessToken(ctx, n.ID, "authz test"); err != nil {
			t.Fatalf("token for @%s: %v", handle, err)
		}
	}
	return &azActor{handle: handle, token: token, id: n.ID}
}

// saveSnapshots stores crafted analytics for both windows: everyone in two
// communities large enough to show (5 and the rest).
func (f *azFixture) saveSnapshots(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	rows, err := f.pool.Query(ctx, `SELECT id, handle, display_name FROM nodes ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	people, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (graphPerson, error) {
		var p graphPerson
		return p, r.Scan(&p.ID, &p.Handle, &p.Name)
	})
	if err != nil {
		t.Fatal(err)
	}
	none := func(int) bool { return false }
	store := graph.NewStore(f.pool, nil)
	for _, window := range []int{90, 0} {
		if err := store.Save(ctx, graphCraft(people, window, []int{5, len(people) - 5}, none, none), 0); err != nil {
			t.Fatalf("save snapshot: %v", err)
		}
	}
}

// publicCommunity is the number of a detected community members may see.
func (f *azFixture) publicCommunity(t *testing.T) int {
	t.Helper()
	snap, err := graph.NewStore(f.pool, nil).Current(context.Background(), 90)
	if err != nil {
		t.Fatalf("current snapshot: %v", err)
	}
	public := snap.PublicCommunities(5)
	if len(public) == 0 {
		t.Fatal("the snapshot has no community large enough to show")
	}
	return public[0].ID
}

// owner is whose objects a role's requests use: anonymous requests use the
// member's, so that the path names real objects.
func (f *azFixture) owner(role int) *azActor {
	if role == azAnon {
		return f.roles[azMember]
	}
	return f.roles[role]
}

func (f *azFixture) tokenFor(role int, rq azReq) string {
	switch {
	case role == azAnon:
		return ""
	case rq.token != "":
		return rq.token
	}
	return f.roles[role].token
}

func (f *azFixture) next() int {
	f.n++
	return f.n
}

// spare uses up one imported person.
func (f *azFixture) spare(t *testing.T) *azActor {
	t.Helper()
	if len(f.spares) == 0 {
		t.Fatal("the fixture ran out of spare people: raise azSpares")
	}
	h := f.spares[0]
	f.spares = f.spares[1:]
	return f.actor(t, h, "")
}

// azClient follows no redirects: where a response sends the browser is part
// of the outcome.
var azClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// send makes one request with a bearer token and/or a session cookie (either
// may be empty) and extra headers.
func (f *azFixture) send(t *testing.T, method string, rq azReq, token, cookie string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	ctype := ""
	switch {
	case rq.json != nil:
		b, err := json.Marshal(rq.json)
		if err != nil {
			t.Fatal(err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	case rq.form != nil:
		body, ctype = strings.NewReader(rq.form.Encode()), "application/x-www-form-urlencoded"
	case rq.raw != nil:
		body, ctype = bytes.NewReader(rq.raw), rq.rawType
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.url+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie == "" {
		cookie = rq.cookie
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := azClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rq.path, err)
	}
	defer resp.Body.Close()
	if rq.stream && resp.StatusCode == http.StatusOK {
		// A live stream never ends: its status and headers are the answer.
		return resp.StatusCode, resp.Header, ""
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, rq.path, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// api calls the JSON API as a and fails the test unless the status is one of
// want; it returns the decoded object (nil for an empty body).
func (f *azFixture) api(t *testing.T, method, path string, a *azActor, body any, want ...int) map[string]any {
	t.Helper()
	st, b := apiDo(t, method, f.url+path, a.token, body)
	ok := false
	for _, w := range want {
		ok = ok || st == w
	}
	if !ok {
		t.Fatalf("%s %s as @%s = %d, want %v: %s", method, path, a.handle, st, want, b)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return m
}

func azID(t *testing.T, m map[string]any) int64 {
	t.Helper()
	id, ok := m["id"].(float64)
	if !ok || id <= 0 {
		t.Fatalf("no id in %v", m)
	}
	return int64(id)
}

func (f *azFixture) share(t *testing.T, a *azActor) int64 {
	t.Helper()
	return azID(t, f.api(t, "POST", "/api/v1/shares", a, map[string]any{"body": fmt.Sprintf("authz share %d", f.next()), "audience": "everyone"}, http.StatusCreated))
}

func (f *azFixture) mark(t *testing.T, a *azActor, share int64) {
	t.Helper()
	f.api(t, "POST", fmt.Sprintf("/api/v1/shares/%d/marks", share), a, map[string]any{"verdict": "confirmed"}, http.StatusCreated)
}

func (f *azFixture) thread(t *testing.T, a *azActor) int64 {
	t.Helper()
	return azID(t, f.api(t, "POST", "/api/v1/threads", a, map[string]any{"community_slug": f.commons, "kind": "question",
		"title": fmt.Sprintf("authz thread %d", f.next()), "body": "what do you think?"}, http.StatusCreated))
}

func (f *azFixture) reply(t *testing.T, a *azActor, thread int64) int64 {
	t.Helper()
	return azID(t, f.api(t, "POST", fmt.Sprintf("/api/v1/threads/%d/replies", thread), a,
		map[string]any{"body": fmt.Sprintf("authz reply %d", f.next())}, http.StatusCreated))
}

func (f *azFixture) proposal(t *testing.T, a *azActor) int64 {
	t.Helper()
	return azID(t, f.api(t, "POST", "/api/v1/proposals", a, map[string]any{"community_slug": f.commons,
		"title": fmt.Sprintf("authz proposal %d", f.next()), "process": "consent", "closes_at": proposalAt(time.Hour)}, http.StatusCreated))
}

// closedProposal is a proposal whose closing time has passed, closed by
// reading it (as the first reader after the closing time does).
func (f *azFixture) closedProposal(t *testing.T, a *azActor) int64 {
	t.Helper()
	id := f.proposal(t, a)
	if _, err := f.pool.Exec(context.Background(), `UPDATE proposals SET closes_at = now() - interval '1 second' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if p := f.api(t, "GET", fmt.Sprintf("/api/v1/proposals/%d", id), a, nil, http.StatusOK); p["status"] != "closed" {
		t.Fatalf("proposal %d is %v after its closing time, want closed", id, p["status"])
	}
	return id
}

func (f *azFixture) ask(t *testing.T, a *azActor) int64 {
	t.Helper()
	return azID(t, f.api(t, "POST", "/api/v1/asks", a, map[string]any{"title": fmt.Sprintf("authz need %d", f.next()),
		"body": "who knows?", "tags": []string{"authz"}}, http.StatusCreated))
}

func (f *azFixture) answer(t *testing.T, a *azActor, ask int64) int64 {
	t.Helper()
	return azID(t, f.api(t, "POST", fmt.Sprintf("/api/v1/asks/%d/answers", ask), a, map[string]any{"body": "this may help"}, http.StatusCreated))
}

// offer makes an ask offered to a, as routing would have.
func (f *azFixture) offer(t *testing.T, ask int64, a *azActor) {
	t.Helper()
	if _, err := f.pool.Exec(context.Background(), `INSERT INTO ask_routes (ask_id, node_id, reason, hops, score)
		VALUES ($1, $2, 'authz test', 1, 1) ON CONFLICT (ask_id, node_id) DO UPDATE SET status = 'offered'`, ask, a.id); err != nil {
		t.Fatal(err)
	}
}

func (f *azFixture) community(t *testing.T, a *azActor, open bool) string {
	t.Helper()
	slug := fmt.Sprintf("az-c-%d", f.next())
	f.api(t, "POST", "/api/v1/communities", a, map[string]any{"name": "Authz " + slug, "slug": slug, "purpose": "testing", "open": open}, http.StatusCreated)
	return slug
}

func (f *azFixture) join(t *testing.T, a *azActor, slug string) {
	t.Helper()
	f.api(t, "POST", "/api/v1/communities/"+slug+"/join", a, nil, http.StatusOK)
}

func (f *azFixture) request(t *testing.T, from, to *azActor) int64 {
	t.Helper()
	return azID(t, f.api(t, "POST", "/api/v1/connections", from, map[string]any{"to_handle": to.handle, "kind": "collaborate"}, http.StatusCreated))
}

func (f *azFixture) connect(t *testing.T, a, b *azActor) int64 {
	t.Helper()
	id := f.request(t, a, b)
	f.api(t, "POST", fmt.Sprintf("/api/v1/connections/%d/accept", id), b, nil, http.StatusOK)
	return id
}

func (f *azFixture) newToken(t *testing.T, a *azActor) (int64, string) {
	t.Helper()
	m := f.api(t, "POST", "/api/v1/tokens", a, map[string]any{"name": fmt.Sprintf("authz %d", f.next())}, http.StatusCreated)
	token, _ := m["token"].(string)
	return azID(t, m), token
}

// sessionCookie signs a in through the form and returns its session cookie as
// a Cookie header value.
func (f *azFixture) sessionCookie(t *testing.T, a *azActor) string {
	t.Helper()
	st, h, body := f.send(t, "POST", azReq{path: "/signin", form: url.Values{"email": {a.email()}, "password": {testPassword}}}, "", "", nil)
	if st != http.StatusSeeOther {
		t.Fatalf("sign in as @%s = %d: %.300s", a.handle, st, body)
	}
	for _, line := range h.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == SessionCookie && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("sign in as @%s set no %s cookie: %v", a.handle, SessionCookie, h.Values("Set-Cookie"))
	return ""
}

func azMultipart(t *testing.T, field, content string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile(field, field+".csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(fw, content); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// settle waits until nothing is left for the background jobs to write: no
// proposal past its closing time is still open and every event is published.
func (f *azFixture) settle(t *testing.T) {
	t.Helper()
	waitFor(t, 30*time.Second, "due proposals closed and the outbox published", func() bool {
		var due, unpublished int
		err := f.pool.QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM proposals WHERE status = 'open' AND closes_at <= now()),
			(SELECT count(*) FROM events_pending)`).Scan(&due, &unpublished)
		return err == nil && due == 0 && unpublished == 0
	})
}

// --- no state change on GET ---

// azWrite is a table, or some of its columns, that requests may write by
// design although they are GETs.
type azWrite struct {
	table      string
	columns    []string                  // only these columns (nil: the whole table)
	appendOnly bool                      // new rows may appear; rows already there must not change
	when       func(pattern string) bool // only for these routes (nil: any)
	reason     string
}

// azGetWrites lists every write a GET may make, and why.
var azGetWrites = []azWrite{
	{table: "access_tokens", columns: []string{"last_used_at"},
		reason: "a token's last use is recorded (at most once a minute), so that its owner can tell a leaked one"},
	{table: "sessions", columns: []string{"data", "expiry", "last_seen_at"},
		reason: "a cookie session's idle deadline and last use move with every request it makes (SESSION_IDLE_TIMEOUT)"},
	{table: "events_pending",
		reason: "the outbox relay marks events published in the background, whatever the request"},
	{table: "audit_log", appendOnly: true,
		reason: "every view and export of named analytics is recorded, and the log is append-only"},
	{table: "thread_reads", when: func(p string) bool { return strings.HasPrefix(p, "/threads/{id}") },
		reason: "opening a thread page (or its live stream) moves the reader's read position, which the unread counts are made of"},
	{table: "retention_state",
		reason: "the retention purge job records each run in the background, whatever the request"},
	{table: "sessions", when: func(p string) bool { return p == "/auth/oidc/start" },
		reason: "starting single sign-on keeps the pending sign-in (state, nonce, PKCE verifier) in the browser's session"},
	{table: "*", when: func(p string) bool { return p == "/auth/oidc/callback" },
		reason: "the provider sends the browser back with a GET (OAuth 2.0's redirect), and the callback signs in: it uses up the pending sign-in, may create the node and its identity, and starts a session"},
}

// azTableSum is the row count and a checksum of a table's rows.
type azTableSum struct {
	rows  int64
	sum   string
	maxID int64 // append-only tables: the largest id
}

// azSnapshot sums every table of the database (what the migrations of the
// moment create, so new tables are watched without changing this test).
func azSnapshot(t *testing.T, pool *pgxpool.Pool) map[string]azTableSum {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]azTableSum{}
	for _, table := range tables {
		skip := []string{}
		appendOnly := false
		for _, w := range azGetWrites {
			if w.table == table {
				skip = append(skip, w.columns...)
				appendOnly = appendOnly || w.appendOnly
			}
		}
		var s azTableSum
		if err := pool.QueryRow(ctx, azSumSQL(table, ""), skip).Scan(&s.rows, &s.sum); err != nil {
			t.Fatalf("sum %s: %v", table, err)
		}
		if appendOnly {
			if err := pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&s.maxID); err != nil {
				t.Fatalf("max id of %s: %v", table, err)
			}
		}
		out[table] = s
	}
	return out
}

// azSumSQL counts and checksums a table's rows without the columns in $1,
// optionally only those matching where (which may use $2).
func azSumSQL(table, where string) string {
	if where != "" {
		where = " WHERE " + where
	}
	return `SELECT count(*), coalesce(md5(string_agg(h, ',' ORDER BY h)), '') FROM (
		SELECT md5((to_jsonb(t) - $1::text[])::text) AS h FROM ` + pgx.Identifier{table}.Sanitize() + ` t` + where + `) x`
}

// azChanged lists the tables that differ between two snapshots, leaving out
// the writes azGetWrites allows for pattern ("" allows none of the
// route-bound ones).
func azChanged(t *testing.T, pool *pgxpool.Pool, before, after map[string]azTableSum, pattern string) []string {
	t.Helper()
	var changed []string
	for table, a := range after {
		b, ok := before[table]
		if !ok {
			changed = append(changed, table+" (new table)")
			continue
		}
		if a == b {
			continue
		}
		allowed, appendOnly := false, false
		skip := []string{} // never nil: a NULL array would make every sum NULL
		for _, w := range azGetWrites {
			if w.table != table && w.table != "*" {
				continue
			}
			skip = append(skip, w.columns...)
			appendOnly = appendOnly || w.appendOnly
			// A whole table, for every request or for this route.
			if w.columns == nil && !w.appendOnly && (w.when == nil || pattern != "" && w.when(pattern)) {
				allowed = true
			}
		}
		if allowed {
			continue
		}
		if appendOnly && a.rows >= b.rows {
			// Rows may have been added; those there before must be as they were.
			var s azTableSum
			if err := pool.QueryRow(context.Background(), azSumSQL(table, "id <= $2"), skip, b.maxID).Scan(&s.rows, &s.sum); err != nil {
				t.Fatalf("sum %s: %v", table, err)
			}
			if s.rows == b.rows && s.sum == b.sum {
				continue
			}
		}
		changed = append(changed, fmt.Sprintf("%s (%d rows before, %d after)", table, b.rows, a.rows))
	}
	sort.Strings(changed)
	return changed
}

func TestCSRFNoStateChangeOnGET(t *testing.T) {
	f := newAzFixture(t, "authz-get")
	member := f.roles[azMember]
	cookie := f.sessionCookie(t, member)

	type job struct {
		who, method, pattern string
		rq                   azReq
		token, cookie        string
	}
	// Every request is prepared first: preparing writes (it creates the
	// objects the paths name), sending must not.
	var jobs []job
	for _, c := range azCases() {
		if c.method != http.MethodGet && c.method != "*" {
			continue
		}
		for role := azAnon; role <= azAnalyst; role++ {
			rq := c.prep(t, f, f.owner(role))
			jobs = append(jobs, job{azRoleNames[role], c.method, c.pattern, rq, f.tokenFor(role, rq), ""})
		}
		// Browsers sign in with a session cookie rather than a token.
		rq := c.prep(t, f, member)
		jobs = append(jobs, job{"member (session cookie)", c.method, c.pattern, rq, "", cookie})
	}
	f.settle(t)

	before := azSnapshot(t, f.pool)
	for _, j := range jobs {
		st, _, body := f.send(t, http.MethodGet, j.rq, j.token, j.cookie, nil)
		if st >= 500 {
			t.Errorf("GET %s as %s = %d: %.200s", j.rq.path, j.who, st, body)
		}
		after := azSnapshot(t, f.pool)
		for _, c := range azChanged(t, f.pool, before, after, j.pattern) {
			t.Errorf("GET %s (%s) as %s changed %s", j.rq.path, j.pattern, j.who, c)
		}
		before = after
	}
}

// azUnsafe reports whether a method may change state (and so must come from
// this site).
func azUnsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return false
	}
	return true
}

func TestCSRFCrossOriginRefused(t *testing.T) {
	cases := map[string]azCase{}
	for _, c := range azCases() {
		cases[c.method+" "+c.pattern] = c
	}
	f := newAzFixture(t, "authz-csrf")
	member := f.roles[azMember]
	// A forged request rides on the browser's cookie: that is what is sent.
	cookie := f.sessionCookie(t, member)

	type job struct {
		method string
		rq     azReq
	}
	var jobs []job
	for _, r := range web.Routes() {
		if !azUnsafe(r.Method) {
			continue
		}
		c, ok := cases[r.Method+" "+r.Pattern]
		if !ok {
			c, ok = cases["* "+r.Pattern]
		}
		if !ok {
			t.Errorf("route %s %s has no entry in the authorization table", r.Method, r.Pattern)
			continue
		}
		// A request the member may make: only its origin is wrong.
		jobs = append(jobs, job{r.Method, c.prep(t, f, member)})
	}
	f.settle(t)

	before := azSnapshot(t, f.pool)
	for _, j := range jobs {
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site"}, // a sibling subdomain is another origin
			{"Origin": "https://evil.example"},
			{"Origin": "null"}, // a sandboxed frame or a data: page
		} {
			st, _, body := f.send(t, j.method, j.rq, "", cookie, h)
			if st != http.StatusForbidden || !strings.Contains(body, "cross-origin request detected") {
				t.Errorf("%s %s with %v = %d %.200q, want 403 from the cross-origin protection", j.method, j.rq.path, h, st, body)
			}
		}
	}
	for _, c := range azChanged(t, f.pool, before, azSnapshot(t, f.pool), "") {
		t.Errorf("refused cross-origin requests changed %s", c)
	}

	t.Run("same-origin requests pass", func(t *testing.T) {
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "same-origin"},
			{"Origin": f.url},
			{}, // no browser headers at all: an API client
		} {
			rq := azReq{path: "/api/v1/shares", json: map[string]any{"body": "same origin", "audience": "everyone"}}
			if st, _, body := f.send(t, "POST", rq, "", cookie, h); st != http.StatusCreated {
				t.Errorf("POST /api/v1/shares with %v = %d %.200s, want 201", h, st, body)
			}
		}
	})
}

// --- object-level authorization (IDOR) ---

// azProbe is one request of the IDOR test; %s in path is the object's id or
// slug.
type azProbe struct {
	method, path string
	json         any
	form         url.Values
}

func (p azProbe) with(v any) azProbe {
	p.path = fmt.Sprintf(p.path, v)
	return p
}

// probe sends p as a.
func (f *azFixture) probe(t *testing.T, a *azActor, p azProbe) (int, string) {
	t.Helper()
	rq := azReq{path: p.path, json: p.json, form: p.form, stream: strings.HasSuffix(p.path, "/live")}
	st, _, body := f.send(t, p.method, rq, a.token, "", nil)
	return st, body
}

// azMissingID is an id no object has.
const azMissingID = 999999999

// wantHidden asserts that a may not learn the object behind real exists: the
// answer is a 404, the same as for missing (for the API, word for word).
func (f *azFixture) wantHidden(t *testing.T, who string, a *azActor, p azProbe, real, missing any) {
	t.Helper()
	rp, mp := p.with(real), p.with(missing)
	st, body := f.probe(t, a, rp)
	mst, mbody := f.probe(t, a, mp)
	if st != http.StatusNotFound {
		t.Errorf("%s: %s %s = %d, want 404: %.200s", who, rp.method, rp.path, st, body)
	}
	if st != mst {
		t.Errorf("%s: %s %s = %d but %d for %s: the answer tells a hidden object from a missing one", who, rp.method, rp.path, st, mst, mp.path)
	}
	if strings.HasPrefix(rp.path, "/api/") && strings.ReplaceAll(body, fmt.Sprint(real), fmt.Sprint(missing)) != mbody {
		t.Errorf("%s: %s %s answers %q, but %q for a missing one", who, rp.method, rp.path, body, mbody)
	}
}

// wantAlike asserts that a gets the same answer for real, naming something
// hidden from a (realS), as for missing, naming nothing (missingS): the same
// status and, for the API, the same words.
func (f *azFixture) wantAlike(t *testing.T, who string, a *azActor, real, missing azProbe, realS, missingS string) {
	t.Helper()
	st, body := f.probe(t, a, real)
	mst, mbody := f.probe(t, a, missing)
	if st != mst || strings.HasPrefix(real.path, "/api/") && strings.ReplaceAll(body, realS, missingS) != mbody {
		t.Errorf("%s: %s %s naming %s = %d %.200s, but %d %.200s naming %s", who, real.method, real.path, realS, st, body, mst, mbody, missingS)
	}
}

// wantDenied asserts that a may not act on an object it may see.
func (f *azFixture) wantDenied(t *testing.T, who string, a *azActor, p azProbe) {
	t.Helper()
	if st, body := f.probe(t, a, p); st != http.StatusForbidden && st != http.StatusNotFound {
		t.Errorf("%s: %s %s = %d, want 403 or 404: %.200s", who, p.method, p.path, st, body)
	}
}

// wantAbsent asserts that none of the words appear in what a is shown at path.
func (f *azFixture) wantAbsent(t *testing.T, who string, a *azActor, path string, words ...string) {
	t.Helper()
	st, body := f.probe(t, a, azProbe{method: "GET", path: path})
	if st != http.StatusOK {
		t.Errorf("%s: GET %s = %d, want 200: %.200s", who, path, st, body)
	}
	for _, w := range words {
		if strings.Contains(body, w) {
			t.Errorf("%s: GET %s shows %q", who, path, w)
		}
	}
}

func (f *azFixture) wantShown(t *testing.T, who string, a *azActor, path string, words ...string) {
	t.Helper()
	st, body := f.probe(t, a, azProbe{method: "GET", path: path})
	if st != http.StatusOK {
		t.Errorf("%s: GET %s = %d, want 200: %.200s", who, path, st, body)
	}
	for _, w := range words {
		if !strings.Contains(body, w) {
			t.Errorf("%s: GET %s does not show %q", who, path, w)
		}
	}
}

// azUntil collects a stream's events up to the first whose data has marker.
func azUntil(t *testing.T, c *sseClient, marker string) []sseEvent {
	t.Helper()
	var seen []sseEvent
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				t.Fatalf("event stream closed before %q arrived", marker)
			}
			seen = append(seen, ev)
			if strings.Contains(ev.Raw, marker) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no event with %q within 20s", marker)
		}
	}
}

func TestIDORObjects(t *testing.T) {
	f := newAzFixture(t, "authz-idor")
	ctx := context.Background()
	member, steward, analyst := f.roles[azMember], f.roles[azSteward], f.roles[azAnalyst]
	outsiders := []*azActor{member, steward, analyst}
	name := map[*azActor]string{member: "member", steward: "steward", analyst: "people analyst", f.peer: "thread author"}
	insider := f.peer2 // @az-whisper, "Whisper Writer"
	whisper := []string{insider.handle, "Whisper Writer"}

	// Streams open before anything private exists; read at the end.
	// The dashboard's live stream (/live, HTML) too, for the outsiders.
	streams, live := map[*azActor]*sseClient{}, map[*azActor]*sseClient{}
	for _, a := range []*azActor{member, steward, analyst, insider} {
		streams[a] = openEvents(t, f.url, a.token, "")
	}
	for _, a := range outsiders {
		live[a] = openStream(t, f.url+"/live", a.token, "")
	}

	// An invite-only community of az-peer and az-whisper (added as an import
	// would), with a share, a thread, a proposal and an ask in it.
	hidden := "az-hidden"
	f.api(t, "POST", "/api/v1/communities", f.peer, map[string]any{"name": "Hidden circle zqhidden", "slug": hidden,
		"purpose": "zqhidden purpose", "open": false}, http.StatusCreated)
	if _, err := f.pool.Exec(ctx, `INSERT INTO community_members (community_id, node_id) SELECT id, $2 FROM communities WHERE slug = $1`,
		hidden, insider.id); err != nil {
		t.Fatal(err)
	}
	hShare := azID(t, f.api(t, "POST", "/api/v1/communities/"+hidden+"/shares", f.peer, map[string]any{"body": "zqhiddenshare in the circle"}, http.StatusCreated))
	hThread := azID(t, f.api(t, "POST", "/api/v1/threads", f.peer, map[string]any{"community_slug": hidden, "kind": "idea",
		"title": "zqhiddenthread circle", "body": "inside"}, http.StatusCreated))
	hProposal := azID(t, f.api(t, "POST", "/api/v1/proposals", f.peer, map[string]any{"community_slug": hidden,
		"title": "zqhiddenproposal circle", "process": "consent", "closes_at": proposalAt(time.Hour)}, http.StatusCreated))
	hAsk := azID(t, f.api(t, "POST", "/api/v1/asks", f.peer, map[string]any{"community_slug": hidden, "title": "zqhiddenask circle",
		"body": "inside", "tags": []string{"authz"}}, http.StatusCreated))
	hAnswer := f.answer(t, insider, hAsk)
	hClosed := azID(t, f.api(t, "POST", "/api/v1/proposals", f.peer, map[string]any{"community_slug": hidden,
		"title": "zqhiddenproposal closed", "process": "consent", "closes_at": proposalAt(time.Hour)}, http.StatusCreated))
	if _, err := f.pool.Exec(ctx, `UPDATE proposals SET closes_at = now() - interval '1 second' WHERE id = $1`, hClosed); err != nil {
		t.Fatal(err)
	}

	// A thread among peers: az-peer asks az-whisper, who answers.
	pThread := azID(t, f.api(t, "POST", "/api/v1/threads", f.peer, map[string]any{"to_handles": []string{insider.handle},
		"kind": "feedback_request", "title": "zqpeerthread circle", "body": "how did it go?"}, http.StatusCreated))
	pReply := f.reply(t, insider, pThread)
	f.api(t, "PATCH", fmt.Sprintf("/api/v1/threads/%d/replies/%d", pThread, pReply), insider, map[string]any{"body": "zqpeerreply"}, http.StatusOK)

	// Private kudos from az-peer to az-whisper.
	f.api(t, "POST", "/api/v1/kudos", f.peer, map[string]any{"to_handle": insider.handle, "message": "zqprivatekudos", "public": false}, http.StatusCreated)

	// An anonymous reply (the commons has five members), edited by its author.
	aThread := f.thread(t, f.peer)
	// The thread's page is open for the member (its live stream sends each
	// reply as HTML), as it would be in a browser.
	memberThreadLive := openStream(t, fmt.Sprintf("%s/threads/%d/live", f.url, aThread), member.token, "")
	aReply := azID(t, f.api(t, "POST", fmt.Sprintf("/api/v1/threads/%d/replies", aThread), insider,
		map[string]any{"body": "zqanonreply said anonymously", "anonymous": true}, http.StatusCreated))
	f.api(t, "PATCH", fmt.Sprintf("/api/v1/threads/%d/replies/%d", aThread, aReply), insider, map[string]any{"body": "zqanonreply, edited"}, http.StatusOK)

	// A share for az-peer's connections only.
	f.connect(t, f.peer, insider)
	cShare := azID(t, f.api(t, "POST", "/api/v1/shares", f.peer, map[string]any{"body": "zqconnsonly", "audience": "connections"}, http.StatusCreated))

	// Everything above is published before this, which every stream gets.
	f.api(t, "POST", "/api/v1/communities/"+f.commons+"/shares", f.peer, map[string]any{"body": "zqsentinel"}, http.StatusCreated)
	seen, seenLive := map[*azActor][]sseEvent{}, map[*azActor][]sseEvent{}
	for a, c := range streams {
		seen[a] = azUntil(t, c, "zqsentinel")
	}
	for a, c := range live {
		seenLive[a] = azUntil(t, c, "zqsentinel")
	}

	private := []string{"zqhidden", "zqpeerthread", "zqpeerreply", "zqprivatekudos", "zqconnsonly"}

	t.Run("an invite-only community and what is in it are hidden from non-members", func(t *testing.T) {
		slugProbes := []azProbe{
			{method: "GET", path: "/api/v1/communities/%s"},
			{method: "PATCH", path: "/api/v1/communities/%s", json: map[string]any{"purpose": "taken over"}},
			{method: "POST", path: "/api/v1/communities/%s/join"},
			{method: "POST", path: "/api/v1/communities/%s/leave"},
			{method: "GET", path: "/api/v1/communities/%s/shares"},
			{method: "POST", path: "/api/v1/communities/%s/shares", json: map[string]any{"body": "sneaking in"}},
			{method: "GET", path: "/communities/%s"},
			{method: "POST", path: "/communities/%s/join", form: url.Values{}},
			{method: "POST", path: "/communities/%s/leave", form: url.Values{}},
			{method: "POST", path: "/communities/%s/purpose", form: url.Values{"purpose": {"taken over"}}},
		}
		idProbes := []struct {
			id     int64
			probes []azProbe
		}{
			{hShare, []azProbe{
				{method: "GET", path: "/api/v1/shares/%d"},
				{method: "GET", path: "/api/v1/shares/%d/history"},
				{method: "GET", path: "/api/v1/shares/%d/cascade"},
				{method: "POST", path: "/api/v1/shares/%d/marks", json: map[string]any{"verdict": "confirmed"}},
				{method: "POST", path: "/api/v1/shares/%d/reshare"},
				{method: "GET", path: "/shares/%d"},
				{method: "GET", path: "/shares/%d/marks"},
				{method: "POST", path: "/shares/%d/marks", form: url.Values{"verdict": {"confirmed"}}},
				{method: "POST", path: "/shares/%d/reshare", form: url.Values{}},
			}},
			{hThread, []azProbe{
				{method: "GET", path: "/api/v1/threads/%d"},
				{method: "POST", path: "/api/v1/threads/%d/replies", json: map[string]any{"body": "hello?"}},
				{method: "POST", path: "/api/v1/threads/%d/read", json: map[string]any{"last_reply_id": 0}},
				{method: "GET", path: "/threads/%d"},
				{method: "GET", path: "/threads/%d/live"},
			}},
			{hProposal, []azProbe{
				{method: "GET", path: "/api/v1/proposals/%d"},
				{method: "POST", path: "/api/v1/proposals/%d/votes", json: map[string]any{"position": "block", "reason": "outsider"}},
				{method: "GET", path: "/proposals/%d"},
				{method: "GET", path: "/proposals/%d/live"},
			}},
			{hClosed, []azProbe{
				{method: "POST", path: "/api/v1/proposals/%d/outcome", json: map[string]any{"statement": "outsider's view"}},
				{method: "POST", path: "/proposals/%d/outcome", form: url.Values{"statement": {"outsider's view"}}},
			}},
			{hAsk, []azProbe{
				{method: "GET", path: "/api/v1/asks/%d"},
				{method: "POST", path: "/api/v1/asks/%d/answers", json: map[string]any{"body": "outsider answer"}},
				{method: "POST", path: fmt.Sprintf("/api/v1/asks/%%d/answers/%d/accept", hAnswer)},
				{method: "POST", path: fmt.Sprintf("/api/v1/asks/%%d/answers/%d/reactions", hAnswer), json: map[string]any{"reaction": "thanks"}},
				{method: "DELETE", path: fmt.Sprintf("/api/v1/asks/%%d/answers/%d/reactions/thanks", hAnswer)},
				{method: "POST", path: "/api/v1/asks/%d/refer", json: map[string]any{"to_handle": f.peer.handle}},
				{method: "POST", path: "/api/v1/asks/%d/decline"},
				{method: "POST", path: "/api/v1/asks/%d/close"},
				{method: "GET", path: "/asks/%d"},
				{method: "POST", path: "/asks/%d/answers", form: url.Values{"body": {"outsider answer"}}},
				{method: "POST", path: fmt.Sprintf("/asks/%%d/answers/%d/accept", hAnswer), form: url.Values{}},
				{method: "POST", path: fmt.Sprintf("/asks/%%d/answers/%d/react", hAnswer), form: url.Values{"reaction": {"thanks"}}},
				{method: "POST", path: "/asks/%d/refer", form: url.Values{"to_handle": {f.peer.handle}}},
				{method: "POST", path: "/asks/%d/decline", form: url.Values{}},
				{method: "POST", path: "/asks/%d/close", form: url.Values{}},
			}},
		}
		for _, a := range outsiders {
			for _, p := range slugProbes {
				f.wantHidden(t, name[a], a, p, hidden, "az-nowhere")
			}
			for _, o := range idProbes {
				for _, p := range o.probes {
					f.wantHidden(t, name[a], a, p, o.id, azMissingID)
				}
			}
		}
		// Posting into it answers as for a community that does not exist.
		for _, a := range outsiders {
			for _, p := range []azProbe{
				{method: "POST", path: "/api/v1/shares", json: map[string]any{"body": "x", "audience": "community", "community_slug": "%s"}},
				{method: "POST", path: "/api/v1/threads", json: map[string]any{"community_slug": "%s", "kind": "idea", "title": "x", "body": "x"}},
				{method: "POST", path: "/api/v1/proposals", json: map[string]any{"community_slug": "%s", "title": "x", "process": "consent", "closes_at": proposalAt(time.Hour)}},
				{method: "POST", path: "/api/v1/asks", json: map[string]any{"community_slug": "%s", "title": "x", "body": "x", "tags": []string{"authz"}}},
			} {
				fill := func(slug string) azProbe {
					q := p
					m := map[string]any{}
					for k, v := range p.json.(map[string]any) {
						if v == "%s" {
							v = slug
						}
						m[k] = v
					}
					q.json = m
					return q
				}
				st, body := f.probe(t, a, fill(hidden))
				mst, mbody := f.probe(t, a, fill("az-nowhere"))
				if st < 400 || st != mst || strings.ReplaceAll(body, hidden, "az-nowhere") != mbody {
					t.Errorf("%s: %s %s into the hidden community = %d %s, but %d %s for a missing one", name[a], p.method, p.path, st, body, mst, mbody)
				}
			}
		}
		// Its members see it all.
		for _, path := range []string{"/api/v1/communities/" + hidden, fmt.Sprintf("/api/v1/shares/%d", hShare),
			fmt.Sprintf("/api/v1/threads/%d", hThread), fmt.Sprintf("/api/v1/proposals/%d", hProposal), fmt.Sprintf("/api/v1/asks/%d", hAsk),
			"/communities/" + hidden, fmt.Sprintf("/threads/%d", hThread)} {
			f.wantShown(t, "member of the invite-only community", insider, path, "zqhidden")
		}
	})

	t.Run("threads among peers are for their participants only", func(t *testing.T) {
		probes := []azProbe{
			{method: "GET", path: "/api/v1/threads/%d"},
			{method: "POST", path: "/api/v1/threads/%d/replies", json: map[string]any{"body": "hello?"}},
			{method: "PATCH", path: fmt.Sprintf("/api/v1/threads/%%d/replies/%d", pReply), json: map[string]any{"body": "changed"}},
			{method: "GET", path: fmt.Sprintf("/api/v1/threads/%%d/replies/%d/history", pReply)},
			{method: "POST", path: fmt.Sprintf("/api/v1/threads/%%d/replies/%d/reactions", pReply), json: map[string]any{"reaction": "thanks"}},
			{method: "POST", path: "/api/v1/threads/%d/read", json: map[string]any{"last_reply_id": 0}},
			{method: "POST", path: "/api/v1/threads/%d/resolve", json: map[string]any{"summary": "closed by an outsider"}},
			{method: "GET", path: "/threads/%d"},
			{method: "GET", path: "/threads/%d/live"},
			{method: "POST", path: "/threads/%d/replies", form: url.Values{"body": {"hello?"}}},
			{method: "GET", path: fmt.Sprintf("/threads/%%d/replies/%d/edit", pReply)},
			{method: "POST", path: fmt.Sprintf("/threads/%%d/replies/%d/edit", pReply), form: url.Values{"body": {"changed"}}},
			{method: "POST", path: fmt.Sprintf("/threads/%%d/replies/%d/reactions", pReply), form: url.Values{"reaction": {"thanks"}}},
			{method: "POST", path: "/threads/%d/resolve", form: url.Values{"summary": {"closed by an outsider"}}},
		}
		for _, a := range outsiders {
			for _, p := range probes {
				f.wantHidden(t, name[a], a, p, pThread, azMissingID)
			}
		}
		f.wantShown(t, "the asked peer", insider, fmt.Sprintf("/api/v1/threads/%d", pThread), "zqpeerthread", "zqpeerreply")
		f.wantShown(t, "the author", f.peer, fmt.Sprintf("/threads/%d", pThread), "zqpeerthread", "zqpeerreply")
	})

	t.Run("lists, search, pages and profiles show nothing private to others", func(t *testing.T) {
		for _, a := range outsiders {
			for _, path := range []string{"/api/v1/communities", "/api/v1/feed", "/api/v1/search?q=circle", "/api/v1/threads",
				"/api/v1/proposals", "/api/v1/asks", "/api/v1/kudos?to=" + insider.handle, "/api/v1/kudos?from=" + f.peer.handle,
				"/", "/communities", "/threads", "/proposals", "/needs", "/search?q=circle", "/people/" + insider.handle,
				"/people/" + f.peer.handle} {
				f.wantAbsent(t, name[a], a, path, private...)
			}
		}
	})

	t.Run("filters and ids in bodies do not reach what is hidden", func(t *testing.T) {
		commonsThread, public := f.thread(t, f.peer), f.share(t, f.peer)
		for _, a := range outsiders {
			for _, path := range []string{"/api/v1/feed?community=%s", "/api/v1/threads?community=%s", "/api/v1/proposals?community=%s",
				"/api/v1/communities/%s/shares", "/proposals/new?community=%s", "/threads/new?community=%s"} {
				f.wantAlike(t, name[a], a, azProbe{method: "GET", path: fmt.Sprintf(path, hidden)},
					azProbe{method: "GET", path: fmt.Sprintf(path, "az-nowhere")}, hidden, "az-nowhere")
			}
			quote := func(id int64) azProbe {
				return azProbe{method: "POST", path: fmt.Sprintf("/api/v1/threads/%d/replies", commonsThread),
					json: map[string]any{"body": "quoting", "quote_id": id}}
			}
			f.wantAlike(t, name[a], a, quote(pReply), quote(azMissingID), fmt.Sprint(pReply), fmt.Sprint(azMissingID))
			reshare := func(slug string) azProbe {
				return azProbe{method: "POST", path: fmt.Sprintf("/api/v1/shares/%d/reshare", public), json: map[string]any{"community_slug": slug}}
			}
			f.wantAlike(t, name[a], a, reshare(hidden), reshare("az-nowhere"), hidden, "az-nowhere")
		}
		f.wantAbsent(t, "the thread's author", f.peer, fmt.Sprintf("/api/v1/threads/%d", commonsThread), "zqpeerreply")
	})

	t.Run("members cannot carry what is hidden out of it", func(t *testing.T) {
		commonsThread, public := f.thread(t, f.peer), f.share(t, f.peer)
		hReply := f.reply(t, insider, hThread)
		f.connect(t, insider, member)
		for _, p := range []azProbe{
			// Passing a hidden share on: only shares everyone may read travel.
			{method: "POST", path: fmt.Sprintf("/api/v1/shares/%d/reshare", hShare)},
			{method: "POST", path: fmt.Sprintf("/api/v1/shares/%d/reshare", cShare)},
			// Quoting a reply of a hidden thread where others read.
			{method: "POST", path: fmt.Sprintf("/api/v1/threads/%d/replies", commonsThread),
				json: map[string]any{"body": "look at this", "quote_id": hReply}},
			// Passing an ask of the invite-only community to an outsider.
			{method: "POST", path: fmt.Sprintf("/api/v1/asks/%d/refer", hAsk), json: map[string]any{"to_handle": member.handle}},
		} {
			if st, body := f.probe(t, insider, p); st < 400 || st >= 500 {
				t.Errorf("member of the invite-only community: %s %s = %d %.200s, want it refused", p.method, p.path, st, body)
			}
		}
		f.wantHidden(t, "member, after a refused referral", member, azProbe{method: "GET", path: "/api/v1/asks/%d"}, hAsk, azMissingID)

		// A reshare into the invite-only community stays out of the public
		// share's cascade and page.
		f.api(t, "POST", fmt.Sprintf("/api/v1/shares/%d/reshare", public), insider,
			map[string]any{"community_slug": hidden, "body": "zqhiddenreshare"}, http.StatusCreated)
		for _, a := range outsiders {
			for _, path := range []string{fmt.Sprintf("/api/v1/shares/%d/cascade", public), fmt.Sprintf("/shares/%d", public),
				fmt.Sprintf("/api/v1/shares/%d", public)} {
				f.wantAbsent(t, name[a], a, path, append(slices.Clone(private), "zqhiddenreshare", hidden, insider.handle)...)
			}
		}
		f.wantShown(t, "member of the invite-only community", insider, fmt.Sprintf("/api/v1/shares/%d/cascade", public), hidden)
	})

	t.Run("private kudos are seen by their recipient only", func(t *testing.T) {
		f.wantShown(t, "recipient", insider, "/api/v1/kudos?to="+insider.handle, "zqprivatekudos")
		f.wantShown(t, "recipient", insider, "/people/"+insider.handle, "zqprivatekudos")
		// (The outsiders' side is in the previous subtest and the events below.)
	})

	t.Run("a share for connections is hidden from others", func(t *testing.T) {
		for _, a := range outsiders {
			for _, p := range []azProbe{{method: "GET", path: "/api/v1/shares/%d"}, {method: "GET", path: "/shares/%d"},
				{method: "POST", path: "/api/v1/shares/%d/reshare"}} {
				f.wantHidden(t, name[a], a, p, cShare, azMissingID)
			}
		}
		f.wantShown(t, "a connection", insider, fmt.Sprintf("/api/v1/shares/%d", cShare), "zqconnsonly")
	})

	t.Run("anonymous reply authors are shown to nobody", func(t *testing.T) {
		for _, a := range []*azActor{member, steward, analyst, f.peer} {
			st, body := f.probe(t, a, azProbe{method: "GET", path: fmt.Sprintf("/api/v1/threads/%d", aThread)})
			if st != http.StatusOK {
				t.Fatalf("%s: thread = %d %s", name[a], st, body)
			}
			var th struct {
				Replies []map[string]any `json:"replies"`
			}
			if err := json.Unmarshal([]byte(body), &th); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range th.Replies {
				if id, _ := r["id"].(float64); int64(id) == aReply {
					found = true
					if r["author"] != nil {
						t.Errorf("%s: the anonymous reply has author %v", name[a], r["author"])
					}
				}
			}
			if !found {
				t.Errorf("%s: the thread lacks the anonymous reply: %.300s", name[a], body)
			}
			for _, path := range []string{fmt.Sprintf("/api/v1/threads/%d", aThread), fmt.Sprintf("/threads/%d", aThread),
				fmt.Sprintf("/api/v1/threads/%d/replies/%d/history", aThread, aReply)} {
				f.wantAbsent(t, name[a], a, path, whisper...)
			}
		}
		// Its events name nobody either (the readers did get them).
		for _, a := range outsiders {
			got := false
			for _, ev := range seen[a] {
				if !strings.Contains(ev.Raw, "zqanonreply") {
					continue
				}
				got = true
				for _, w := range whisper {
					if strings.Contains(ev.Raw, w) {
						t.Errorf("%s: event %s %s names the anonymous author: %.300s", name[a], ev.Type, ev.ID, ev.Raw)
					}
				}
				if obj, _ := ev.Data["object"].(map[string]any); obj != nil && obj["author"] != nil {
					t.Errorf("%s: event %s has author %v", name[a], ev.Type, obj["author"])
				}
			}
			if !got {
				t.Errorf("%s: no event about the anonymous reply arrived, so none was checked", name[a])
			}
		}
		// The thread's live stream sends the reply and its edit as HTML: no
		// author there either.
		for _, ev := range azUntil(t, memberThreadLive, "zqanonreply, edited") {
			for _, w := range whisper {
				if strings.Contains(ev.Raw, w) {
					t.Errorf("member: the thread's live stream names the anonymous author in %s: %.300s", ev.Type, ev.Raw)
				}
			}
		}
		// Nor the data downloads of the others: what they hold about the
		// reply does not say who wrote it.
		for _, a := range []*azActor{member, steward, analyst, f.peer} {
			st, body := f.probe(t, a, azProbe{method: "GET", path: "/api/v1/me/export"})
			if st != http.StatusOK {
				t.Errorf("%s: GET /api/v1/me/export = %d", name[a], st)
				continue
			}
			var doc any
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("%s: export: %v", name[a], err)
			}
			azEachObject(doc, func(m map[string]any) {
				for _, v := range m {
					if s, ok := v.(string); ok && strings.Contains(s, "zqanonreply") {
						b, _ := json.Marshal(m)
						for _, w := range whisper {
							if strings.Contains(string(b), w) {
								t.Errorf("%s: the data download names the anonymous author: %s", name[a], b)
							}
						}
					}
				}
			})
		}
		// Editing someone else's reply is refused alike, named or anonymous,
		// so the answer does not say who wrote it.
		named := f.reply(t, insider, aThread)
		for _, a := range outsiders {
			st1, b1 := f.probe(t, a, azProbe{method: "PATCH", path: fmt.Sprintf("/api/v1/threads/%d/replies/%d", aThread, aReply), json: map[string]any{"body": "x"}})
			st2, b2 := f.probe(t, a, azProbe{method: "PATCH", path: fmt.Sprintf("/api/v1/threads/%d/replies/%d", aThread, named), json: map[string]any{"body": "x"}})
			if st1 != http.StatusForbidden || st1 != st2 || b1 != b2 {
				t.Errorf("%s: editing the anonymous reply = %d %s, someone's named reply = %d %s; want the same 403", name[a], st1, b1, st2, b2)
			}
		}
		// Nor do the analytics learn of it: an anonymous reply is no interaction.
		var n int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM interactions WHERE ref = $1 AND $2 IN (from_node, to_node)`,
			fmt.Sprintf("thread:%d", aThread), insider.id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 { // the named reply just made, and nothing else
			t.Errorf("%d interactions of the anonymous author in the thread, want 1 (the named reply)", n)
		}
	})

	t.Run("events of private things reach only who may read them", func(t *testing.T) {
		for _, a := range outsiders {
			for _, ev := range append(slices.Clone(seen[a]), seenLive[a]...) {
				for _, w := range append(slices.Clone(private), whisper...) {
					if strings.Contains(ev.Raw, w) {
						t.Errorf("%s received event %s %s with %q: %.300s", name[a], ev.Type, ev.ID, w, ev.Raw)
					}
				}
			}
		}
		for _, w := range []string{"zqhiddenshare", "zqprivatekudos"} {
			got := false
			for _, ev := range seen[insider] {
				got = got || strings.Contains(ev.Raw, w)
			}
			if !got {
				t.Errorf("the member and recipient received no event with %q", w)
			}
		}
	})

	t.Run("another node's token cannot be revoked or listed", func(t *testing.T) {
		id, token := f.newToken(t, f.peer)
		for _, a := range outsiders {
			f.wantHidden(t, name[a], a, azProbe{method: "DELETE", path: "/api/v1/tokens/%d"}, id, azMissingID)
			var list struct {
				Tokens []struct {
					ID int64 `json:"id"`
				} `json:"tokens"`
			}
			_, body := f.probe(t, a, azProbe{method: "GET", path: "/api/v1/tokens"})
			if err := json.Unmarshal([]byte(body), &list); err != nil {
				t.Fatal(err)
			}
			for _, tk := range list.Tokens {
				if tk.ID == id {
					t.Errorf("%s lists another node's token %d", name[a], id)
				}
			}
		}
		if st, body := apiDo(t, "GET", f.url+"/api/v1/me", token, nil); st != http.StatusOK || !strings.Contains(string(body), f.peer.handle) {
			t.Errorf("the token after the others' attempts: GET /api/v1/me = %d %.200s, want 200 as @%s", st, body, f.peer.handle)
		}
	})

	t.Run("another node's share cannot be edited, corrected or deleted", func(t *testing.T) {
		id := f.share(t, f.peer)
		before := f.api(t, "GET", fmt.Sprintf("/api/v1/shares/%d", id), f.peer, nil, http.StatusOK)
		for _, a := range outsiders {
			for _, p := range []azProbe{
				{method: "PATCH", path: "/api/v1/shares/%d", json: map[string]any{"body": "hijacked"}},
				{method: "DELETE", path: "/api/v1/shares/%d"},
				{method: "PUT", path: "/api/v1/shares/%d/correction", json: map[string]any{"body": "hijacked"}},
				{method: "GET", path: "/shares/%d/edit"},
				{method: "POST", path: "/shares/%d/edit", form: url.Values{"body": {"hijacked"}}},
				{method: "POST", path: "/shares/%d/delete", form: url.Values{}},
				{method: "GET", path: "/shares/%d/correction"},
				{method: "POST", path: "/shares/%d/correction", form: url.Values{"body": {"hijacked"}}},
			} {
				f.wantDenied(t, name[a], a, p.with(id))
			}
		}
		after := f.api(t, "GET", fmt.Sprintf("/api/v1/shares/%d", id), f.peer, nil, http.StatusOK)
		if after["body"] != before["body"] || after["correction"] != nil {
			t.Errorf("the share changed: body %q → %q, correction %v", before["body"], after["body"], after["correction"])
		}
	})

	t.Run("other nodes' connections cannot be answered, withdrawn or removed", func(t *testing.T) {
		a, b, c, d := f.spare(t), f.spare(t), f.spare(t), f.spare(t)
		pending, accepted := f.request(t, a, b), f.connect(t, c, d)
		for _, o := range outsiders {
			for _, p := range []azProbe{
				{method: "POST", path: fmt.Sprintf("/api/v1/connections/%d/accept", pending)},
				{method: "POST", path: fmt.Sprintf("/api/v1/connections/%d/decline", pending)},
				{method: "POST", path: fmt.Sprintf("/api/v1/connections/%d/withdraw", pending)},
				{method: "DELETE", path: fmt.Sprintf("/api/v1/connections/%d", pending)},
				{method: "DELETE", path: fmt.Sprintf("/api/v1/connections/%d", accepted)},
				{method: "POST", path: fmt.Sprintf("/connections/%d/accept", pending), form: url.Values{}},
				{method: "POST", path: fmt.Sprintf("/connections/%d/withdraw", pending), form: url.Values{}},
				{method: "POST", path: fmt.Sprintf("/connections/%d/remove", accepted), form: url.Values{}},
			} {
				f.wantDenied(t, name[o], o, p)
			}
		}
		var states []string
		rows, _ := f.pool.Query(ctx, `SELECT state FROM connections WHERE id IN ($1, $2) ORDER BY id`, pending, accepted)
		states, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || !slices.Equal(states, []string{"pending", "accepted"}) {
			t.Errorf("the connections are now %v (%v), want [pending accepted]", states, err)
		}
	})

	t.Run("another node's ask cannot be closed, declined or its answer accepted", func(t *testing.T) {
		ask := f.ask(t, f.peer)
		ans := f.answer(t, insider, ask)
		for _, a := range outsiders {
			for _, p := range []azProbe{
				{method: "POST", path: fmt.Sprintf("/api/v1/asks/%d/close", ask)},
				{method: "POST", path: fmt.Sprintf("/api/v1/asks/%d/decline", ask)},
				{method: "POST", path: fmt.Sprintf("/api/v1/asks/%d/answers/%d/accept", ask, ans)},
				{method: "POST", path: fmt.Sprintf("/asks/%d/close", ask), form: url.Values{}},
				{method: "POST", path: fmt.Sprintf("/asks/%d/answers/%d/accept", ask, ans), form: url.Values{}},
			} {
				f.wantDenied(t, name[a], a, p)
			}
		}
		var status string
		var accepted bool
		if err := f.pool.QueryRow(ctx, `SELECT a.status, aa.accepted FROM asks a JOIN ask_answers aa ON aa.ask_id = a.id WHERE aa.id = $1`, ans).
			Scan(&status, &accepted); err != nil || status != "answered" && status != "open" || accepted {
			t.Errorf("the ask is now %q with its answer accepted=%v (%v)", status, accepted, err)
		}
	})

	t.Run("another node's reply cannot be edited", func(t *testing.T) {
		th := f.thread(t, f.peer)
		rp := f.reply(t, insider, th)
		for _, a := range outsiders {
			for _, p := range []azProbe{
				{method: "PATCH", path: fmt.Sprintf("/api/v1/threads/%d/replies/%d", th, rp), json: map[string]any{"body": "hijacked"}},
				{method: "GET", path: fmt.Sprintf("/threads/%d/replies/%d/edit", th, rp)},
				{method: "POST", path: fmt.Sprintf("/threads/%d/replies/%d/edit", th, rp), form: url.Values{"body": {"hijacked"}}},
			} {
				f.wantDenied(t, name[a], a, p)
			}
		}
		f.wantAbsent(t, "the thread's author", f.peer, fmt.Sprintf("/api/v1/threads/%d", th), "hijacked")
	})

	t.Run("non-members of a community do not decide in it", func(t *testing.T) {
		slug := f.community(t, f.peer, true)
		mk := func() int64 {
			return azID(t, f.api(t, "POST", "/api/v1/proposals", f.peer, map[string]any{"community_slug": slug,
				"title": "members only", "process": "consent", "closes_at": proposalAt(time.Hour)}, http.StatusCreated))
		}
		open, closed := mk(), mk()
		if _, err := f.pool.Exec(ctx, `UPDATE proposals SET closes_at = now() - interval '1 second' WHERE id = $1`, closed); err != nil {
			t.Fatal(err)
		}
		for _, a := range outsiders {
			for _, p := range []azProbe{
				{method: "POST", path: fmt.Sprintf("/api/v1/proposals/%d/votes", open), json: map[string]any{"position": "agree"}},
				{method: "POST", path: fmt.Sprintf("/proposals/%d/vote", open), form: url.Values{"position": {"agree"}}},
				{method: "POST", path: fmt.Sprintf("/api/v1/proposals/%d/outcome", closed), json: map[string]any{"statement": "outsider's view"}},
				{method: "POST", path: fmt.Sprintf("/proposals/%d/outcome", closed), form: url.Values{"statement": {"outsider's view"}}},
			} {
				f.wantDenied(t, name[a], a, p)
			}
		}
		var votes int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM votes WHERE proposal_id IN ($1, $2)`, open, closed).Scan(&votes); err != nil || votes != 0 {
			t.Errorf("%d votes by non-members (%v), want 0", votes, err)
		}
	})
}

// azEachObject calls fn for every JSON object in v, nested ones included.
func azEachObject(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, e := range x {
			azEachObject(e, fn)
		}
	case []any:
		for _, e := range x {
			azEachObject(e, fn)
		}
	}
}
