package ghsandbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// weakETag is the shape of GitHub's ETags on JSON answers.
var weakETag = regexp.MustCompile(`^W/"[0-9a-f]{64}"$`)

// recordedReadHeaders returns the Cache-Control GitHub sent on the recorded answer to a
// contents read (@octokit/fixtures, get-content).
func recordedReadHeaders(t *testing.T) string {
	t.Helper()
	dir := standin.NodePackage(t, "@octokit/fixtures")
	raw, err := os.ReadFile(filepath.Join(dir, "scenarios", "api.github.com", "get-content", "normalized-fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Method  string            `json:"method"`
		Status  int               `json:"status"`
		Headers map[string]any    `json:"headers"`
		Req     map[string]string `json:"reqheaders"`
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Method == "get" && r.Status == 200 {
			if _, ok := r.Headers["etag"]; !ok {
				t.Fatalf("recorded contents answer has no ETag: %v", r.Headers)
			}
			cc, _ := r.Headers["cache-control"].(string)
			return cc
		}
	}
	t.Fatal("no recorded 200 contents read")
	return ""
}

// TestConditionalReads checks the sandbox answers conditional reads as GitHub does: a
// weak ETag and GitHub's Cache-Control on every 200 of the read routes the App uses, a
// 304 without a body when If-None-Match names the current ETag (one GitHub's description
// documents where it lists 304), X-RateLimit-Remaining unchanged by a 304, and a 200
// with a new ETag once the answer changed.
func TestConditionalReads(t *testing.T) {
	api := loadOpenAPI(t)
	cacheControl := recordedReadHeaders(t)
	s, base := NewServer(t, Options{})
	write := func(data string) {
		t.Helper()
		if err := s.WriteFile("o", "r", "docs/plan.md", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	write("- [ ] a\n")
	tok := "token " + mint(t, s, base, "1")
	jwtAuth := goodJWT(t, s, s.now())
	tests := []struct {
		name, path, template, auth string
		change                     func() // changes the answer; nil: stays
	}{
		{"contents", "/repos/o/r/contents/docs/plan.md", "/repos/{owner}/{repo}/contents/{path}", tok, func() { write("- [x] a\n") }},
		{"head commit", "/repos/o/r/commits/heads/main", "/repos/{owner}/{repo}/commits/{ref}", tok, func() { write("- [x] a\n- [ ] b\n") }},
		{"tree", "/repos/o/r/git/trees/main?recursive=1", "/repos/{owner}/{repo}/git/trees/{tree_sha}", tok, func() { write("- [x] a\n- [x] b\n") }},
		{"repository", "/repos/o/r", "/repos/{owner}/{repo}", tok, nil},
		{"installation repositories", "/installation/repositories", "/installation/repositories", tok, nil},
		{"installation", "/app/installations/1", "/app/installations/{installation_id}", jwtAuth, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := do(t, "GET", base+tt.path, tt.auth, nil)
			etag := first.header.Get("ETag")
			if first.status != 200 || !weakETag.MatchString(etag) {
				t.Fatalf("GET %s = %d ETag %q, want 200 with a weak ETag W/\"<64 hex>\"", tt.path, first.status, etag)
			}
			if got := first.header.Get("Cache-Control"); got != cacheControl {
				t.Errorf("Cache-Control = %q, want %q as GitHub recorded", got, cacheControl)
			}
			remaining := first.header.Get("X-RateLimit-Remaining")
			again := do(t, "GET", base+tt.path, tt.auth, nil, "If-None-Match", etag)
			if again.status != 304 || len(again.body) != 0 {
				t.Fatalf("GET %s If-None-Match current = %d %q, want 304 without a body", tt.path, again.status, again.body)
			}
			if got := again.header.Get("ETag"); got != etag {
				t.Errorf("304 ETag = %q, want %q", got, etag)
			}
			if got := again.header.Get("X-RateLimit-Remaining"); got != remaining {
				t.Errorf("304 X-RateLimit-Remaining = %s, want %s (a 304 does not count)", got, remaining)
			}
			if _, documented := api.responseSchema("GET", tt.template, 304); documented == nil {
				for _, p := range api.check("GET", tt.template, again) {
					t.Errorf("304: %s", p)
				}
			} else {
				for _, p := range rateHeaderProblems(again.header) {
					t.Errorf("304: %s", p)
				}
			}
			// A tag of another answer (and the strong form of the current one) is a
			// weak-comparison question: only the opaque part counts.
			if a := do(t, "GET", base+tt.path, tt.auth, nil, "If-None-Match", `W/"0000", `+etag[2:]); a.status != 304 {
				t.Errorf("GET with a tag list naming the strong form = %d, want 304", a.status)
			}
			plain := do(t, "GET", base+tt.path, tt.auth, nil)
			n, _ := strconv.Atoi(remaining)
			if got := plain.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(n-1) {
				t.Errorf("next 200 X-RateLimit-Remaining = %s, want %d", got, n-1)
			}
			if tt.change == nil {
				return
			}
			tt.change()
			changed := do(t, "GET", base+tt.path, tt.auth, nil, "If-None-Match", etag)
			if changed.status != 200 || changed.header.Get("ETag") == etag || len(changed.body) == 0 {
				t.Errorf("GET after a change = %d ETag %q, want 200 with a new ETag and the body", changed.status, changed.header.Get("ETag"))
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		a := do(t, "GET", base+"/repos/o/r/contents/missing", tok, nil, "If-None-Match", "*")
		if a.status != 404 || a.header.Get("ETag") != "" {
			t.Errorf("GET missing = %d ETag %q, want 404 without an ETag", a.status, a.header.Get("ETag"))
		}
	})
}
