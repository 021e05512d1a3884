package ghapp

// This file replays answers GitHub really gave, recorded by @octokit/fixtures (pinned in
// pkg/local/standin's lock file, installed by `make deps`), through the App client, so
// the client is shown to read GitHub's answers and not only the sandbox's.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// recording is one request and GitHub's answer in a fixture scenario.
type recording struct {
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Status   int             `json:"status"`
	Response json.RawMessage `json:"response"`
	Headers  map[string]any  `json:"headers"` // numbers appear unquoted (x-ratelimit-used)
}

// loadScenario reads scenarios/api.github.com/<name>/normalized-fixture.json.
func loadScenario(t *testing.T, name string) []recording {
	t.Helper()
	dir := standin.NodePackage(t, "@octokit/fixtures")
	raw, err := os.ReadFile(filepath.Join(dir, "scenarios", "api.github.com", name, "normalized-fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []recording
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatalf("decode scenario %s: %v", name, err)
	}
	return recs
}

// tokenExample is the installation token answer of GitHub's OpenAPI description (its
// documented example; the fixtures record no App calls), read once. Decoding the whole
// 13 MB description takes seconds under -race, so the example is decoded where it
// stands: the object under the key "installation-token" that has a "value".
var tokenExample = sync.OnceValues(func() (map[string]any, error) {
	dir, err := standin.Dir()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "node_modules", "@octokit", "openapi", "generated", "api.github.com.json"))
	if err != nil {
		return nil, err
	}
	key := []byte(`"installation-token":`)
	for rest := raw; ; {
		i := bytes.Index(rest, key)
		if i < 0 {
			return nil, fmt.Errorf("no installation-token example in GitHub's description")
		}
		rest = rest[i+len(key):]
		var ex struct {
			Value map[string]any `json:"value"`
		}
		if json.NewDecoder(bytes.NewReader(rest)).Decode(&ex) == nil && ex.Value["token"] != nil {
			return ex.Value, nil
		}
	}
})

// replay serves recorded answers: match picks the recording for a request (nil: 404).
// Token requests get GitHub's documented token answer. It rewrites the recorded
// https://api.github.com links to the server's own URL and fails the test when a replayed
// request does not carry the minted token.
type replay struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	match func(r *http.Request) *recording

	mu     sync.Mutex
	served []string
}

func newReplay(t *testing.T, match func(r *http.Request) *recording) *replay {
	t.Helper()
	standin.NodePackage(t, "@octokit/openapi")
	ex, err := tokenExample()
	if err != nil {
		t.Fatalf("token example: %v", err)
	}
	rp := &replay{t: t, match: match}
	rp.token, _ = ex["token"].(string)
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && matchSegments("/app/installations/*/access_tokens", r.URL.Path) {
			ans := map[string]any{}
			for k, v := range ex {
				ans[k] = v
			}
			// The example's expires_at is in 2016; a token that old would be minted anew
			// for every call.
			ans["expires_at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(ans)
			return
		}
		if got := r.Header.Get("Authorization"); got != "token "+rp.token {
			t.Errorf("%s %s: Authorization = %q, want the minted installation token", r.Method, r.URL, got)
		}
		rec := rp.match(r)
		if rec == nil {
			t.Errorf("no recording for %s %s", r.Method, r.URL)
			http.NotFound(w, r)
			return
		}
		rp.mu.Lock()
		rp.served = append(rp.served, r.Method+" "+r.URL.RequestURI())
		rp.mu.Unlock()
		for k, v := range rec.Headers {
			switch strings.ToLower(k) {
			case "content-length", "connection":
				continue
			}
			w.Header().Set(k, rp.rewrite(fmt.Sprint(v)))
		}
		w.WriteHeader(rec.Status)
		_, _ = w.Write([]byte(rp.rewrite(string(rec.Response))))
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *replay) rewrite(s string) string {
	return strings.ReplaceAll(s, "https://api.github.com", rp.srv.URL)
}

// client is an App client for the replay server (any key: the server checks no JWT).
func (rp *replay) client(t *testing.T) *Client {
	t.Helper()
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{AppID: 1, PrivateKey: key, APIURL: rp.srv.URL, WebURL: "https://github.com/"})
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = (&sleeps{}).sleep
	return c
}

// byPath serves the recordings of method and path (with query) in a scenario.
func byPath(recs []recording) func(*http.Request) *recording {
	return func(r *http.Request) *recording {
		for i := range recs {
			if strings.EqualFold(recs[i].Method, r.Method) && recs[i].Path == r.URL.RequestURI() {
				return &recs[i]
			}
		}
		return nil
	}
}

func TestReplayRecordedRepositories(t *testing.T) {
	tests := []struct {
		scenario, repo string
		want           Repository
	}{
		{"get-repository", "hello-world", Repository{
			ID: 1000, Owner: "octokit-fixture-org", Name: "hello-world", FullName: "octokit-fixture-org/hello-world",
			DefaultBranch: "master", HTMLURL: "https://github.com/octokit-fixture-org/hello-world",
		}},
		// GitHub answers 301 to a renamed repository's old name, pointing at
		// /repositories/{id}; the client follows it to the repository under its new name.
		{"rename-repository", "rename-repository", Repository{
			ID: 1000, Owner: "octokit-fixture-org", Name: "rename-repository-newname", FullName: "octokit-fixture-org/rename-repository-newname",
			DefaultBranch: "main", HTMLURL: "https://github.com/octokit-fixture-org/rename-repository-newname",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			rp := newReplay(t, byPath(loadScenario(t, tt.scenario)))
			c := rp.client(t)
			if tok, err := c.InstallationToken(context.Background(), 1); err != nil || tok != rp.token {
				t.Fatalf("InstallationToken(1) = %q, %v, want GitHub's documented token", tok, err)
			}
			got, err := c.Repository(context.Background(), 1, "octokit-fixture-org", tt.repo)
			if err != nil {
				t.Fatalf("Repository(%s) error: %v", tt.repo, err)
			}
			if got != tt.want {
				t.Errorf("Repository(%s) = %+v, want %+v", tt.repo, got, tt.want)
			}
			v, err := c.ValidateRepositoryAccess(context.Background(), "https://github.com/octokit-fixture-org/"+tt.repo, 1)
			if err != nil || v != tt.want {
				t.Errorf("ValidateRepositoryAccess(%s) = %+v, %v, want %+v", tt.repo, v, err, tt.want)
			}
		})
	}
}

// TestReplayRecordedPagination follows GitHub's recorded Link headers (five pages of
// issues) with the helper every list of the App uses. GitHub's next links name the
// repository by id (/repositories/1000/issues?page=N), while go-github asks for page N
// of the path it started with; GitHub serves both alike, so the replay matches on the
// page number.
func TestReplayRecordedPagination(t *testing.T) {
	recs := loadScenario(t, "paginate-issues")
	rp := newReplay(t, func(r *http.Request) *recording {
		if r.URL.Path != "/repos/octokit-fixture-org/paginate-issues/issues" {
			return nil
		}
		page := r.URL.Query().Get("page")
		for i := range recs {
			u, err := url.Parse(recs[i].Path)
			if err != nil {
				continue
			}
			p := u.Query().Get("page")
			if p == page || (page == "" && p == "") || (page == "1" && p == "") {
				return &recs[i]
			}
		}
		return nil
	})
	c := rp.client(t)
	gh := c.installation(1).gh
	issues, err := allPages(context.Background(), func(ctx context.Context, opts *github.ListOptions) ([]*github.Issue, *github.Response, error) {
		return gh.Issues.ListByRepo(ctx, "octokit-fixture-org", "paginate-issues", &github.IssueListByRepoOptions{ListOptions: *opts})
	})
	if err != nil {
		t.Fatalf("allPages error: %v", err)
	}
	var want int
	for _, r := range recs {
		var page []json.RawMessage
		if err := json.Unmarshal(r.Response, &page); err != nil {
			t.Fatal(err)
		}
		want += len(page)
	}
	if len(issues) != want || len(rp.served) != len(recs) {
		t.Errorf("allPages = %d issues in %d calls (%v), want %d in %d", len(issues), len(rp.served), rp.served, want, len(recs))
	}
	seen := map[int]bool{}
	for _, is := range issues {
		if seen[is.GetNumber()] {
			t.Errorf("issue %d listed twice", is.GetNumber())
		}
		seen[is.GetNumber()] = true
	}
}
