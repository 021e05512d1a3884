package ghsandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/testkit"
	"github.com/repotrackr/github-integration/pkg/webhook"
)

const hookSecret = "sandbox-hook-secret"

// received is one request the webhook receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is the App's webhook endpoint in these tests: it keeps what it gets and
// answers the statuses queued with failNext, else 202.
type receiver struct {
	mu     sync.Mutex
	got    []received
	fail   []int
	notify chan struct{}
}

func newReceiver(t *testing.T) (*receiver, string) {
	t.Helper()
	rc := &receiver{notify: make(chan struct{}, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: b})
		status := http.StatusAccepted
		if len(rc.fail) > 0 {
			status, rc.fail = rc.fail[0], rc.fail[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"queued"}`))
		rc.notify <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/webhooks/github"
}

func (rc *receiver) failNext(status ...int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = append(rc.fail, status...)
}

// wait returns once n requests in all have arrived, failing the test after 5 s.
func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]received(nil), rc.got...)
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-rc.notify:
		case <-deadline:
			t.Fatalf("webhook receiver got %d deliveries, want %d", len(got), n)
		}
	}
}

// waitRecorded waits until the sandbox has recorded n attempts, newest first.
func waitRecorded(t *testing.T, s *Sandbox, n int) []Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds := s.Deliveries()
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox recorded %d deliveries, want %d: %+v", len(ds), n, ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

// pushJSON is what these tests read of a push payload.
type pushJSON struct {
	Ref, Before, After string
	Created            bool
	Commits            []struct {
		ID                       string
		Added, Modified, Removed []string
	}
	Repository struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	}
	Installation struct{ ID int64 }
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func writeDisk(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// watchedSandbox starts a sandbox whose root holds acme/app (docs/plan.md, README.md)
// and which sends its webhooks to a receiver.
func watchedSandbox(t *testing.T, opts Options) (*Sandbox, string, *receiver, string) {
	t.Helper()
	root := t.TempDir()
	writeDisk(t, root, "acme/app/docs/plan.md", "- [ ] one\n")
	writeDisk(t, root, "acme/app/README.md", "# app\n")
	rc, hook := newReceiver(t)
	opts.Root, opts.WebhookURL, opts.WebhookSecret = root, hook, hookSecret
	if opts.Debounce == 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	s, base := NewServer(t, opts)
	return s, base, rc, root
}

// sortedKeys lists an object's keys.
func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestWatcherSendsSignedPushes(t *testing.T) {
	s, _, rc, root := watchedSandbox(t, Options{})
	head0, _, err := s.Head("acme", "app")
	if err != nil {
		t.Fatal(err)
	}

	// An editor's edit and a new file, within one debounce period: one push.
	writeDisk(t, root, "acme/app/docs/plan.md", "- [x] one\n")
	writeDisk(t, root, "acme/app/go.mod", "module x\n")
	got := rc.wait(t, 1)[0]
	h := got.header
	if err := webhook.NewVerifier(hookSecret).Verify(got.body, h.Get(webhook.HeaderSignature256)); err != nil {
		t.Errorf("signature of the push does not verify with the webhook secret: %v", err)
	}
	for name, want := range map[string]string{
		webhook.HeaderEvent:                      "push",
		"Content-Type":                           "application/json",
		"X-GitHub-Hook-ID":                       strconv.Itoa(DefaultHookID),
		"X-GitHub-Hook-Installation-Target-ID":   strconv.Itoa(DefaultAppID),
		"X-GitHub-Hook-Installation-Target-Type": "integration",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if sig := h.Get(webhook.HeaderSignatureSHA1); !strings.HasPrefix(sig, "sha1=") || len(sig) != 45 {
		t.Errorf("%s = %q, want GitHub's legacy sha1=<40 hex>", webhook.HeaderSignatureSHA1, sig)
	}
	if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "GitHub-Hookshot/") {
		t.Errorf("User-Agent = %q, want GitHub-Hookshot/…", ua)
	}
	if err := webhook.CheckHeaders(h.Get(webhook.HeaderEvent), h.Get(webhook.HeaderDelivery)); err != nil || len(h.Get(webhook.HeaderDelivery)) != 36 {
		t.Errorf("X-GitHub-Delivery = %q (%v), want a GUID", h.Get(webhook.HeaderDelivery), err)
	}

	// The payload has the real push payload's keys, at the top and in its commits.
	real := decode[map[string]any](t, testkit.PayloadBytes(t, "push/with-new-branch.payload.json"))
	sent := decode[map[string]any](t, got.body)
	if g, w := sortedKeys(sent), sortedKeys(real); !slices.Equal(g, w) {
		t.Errorf("push keys = %v, want the real payload's %v", g, w)
	}
	realCommit := real["commits"].([]any)[0].(map[string]any)
	sentCommit := sent["commits"].([]any)[0].(map[string]any)
	if g, w := sortedKeys(sentCommit), sortedKeys(realCommit); !slices.Equal(g, w) {
		t.Errorf("commit keys = %v, want the real payload's %v", g, w)
	}
	for _, k := range sortedKeys(real["repository"].(map[string]any)) {
		if _, ok := sent["repository"].(map[string]any)[k]; !ok {
			t.Errorf("push repository lacks the real payload's key %q", k)
		}
	}

	head1, _, err := s.Head("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	p := decode[pushJSON](t, got.body)
	if p.Ref != "refs/heads/main" || p.Before != head0 || p.After != head1 || p.Repository.FullName != "acme/app" || p.Installation.ID != 1 {
		t.Errorf("push = %s %s..%s of %s (installation %d), want refs/heads/main %s..%s of acme/app (1)", p.Ref, p.Before, p.After, p.Repository.FullName, p.Installation.ID, head0, head1)
	}
	if len(p.Commits) != 1 || !slices.Equal(p.Commits[0].Added, []string{"go.mod"}) || !slices.Equal(p.Commits[0].Modified, []string{"docs/plan.md"}) || len(p.Commits[0].Removed) != 0 || p.Commits[0].ID != head1 {
		t.Errorf("push commits = %+v, want one commit %s adding go.mod, modifying docs/plan.md", p.Commits, head1)
	}

	// A removal: the next push starts where the last one ended.
	if err := os.Remove(filepath.Join(root, "acme", "app", "README.md")); err != nil {
		t.Fatal(err)
	}
	p2 := decode[pushJSON](t, rc.wait(t, 2)[1].body)
	if p2.Before != p.After || len(p2.Commits) != 1 || !slices.Equal(p2.Commits[0].Removed, []string{"README.md"}) {
		t.Errorf("second push = %s..%s %+v, want %s.. removing README.md", p2.Before, p2.After, p2.Commits, p.After)
	}

	// Each is recorded as GitHub lists it (once its answer is in).
	ds := waitRecorded(t, s, 2)
	if len(ds) != 2 {
		t.Fatalf("Deliveries() = %d, want 2", len(ds))
	}
	for _, d := range ds {
		if d.Event != "push" || d.Status != "OK" || d.StatusCode != 202 || d.Redelivery || d.InstallationID != 1 || d.RepositoryID == 0 {
			t.Errorf("recorded delivery = %+v, want an OK push of installation 1", d)
		}
	}
	if ds[1].GUID != got.header.Get(webhook.HeaderDelivery) {
		t.Errorf("recorded GUID %s, sent %s", ds[1].GUID, got.header.Get(webhook.HeaderDelivery))
	}
}

func TestWatcherDebounces(t *testing.T) {
	_, _, rc, root := watchedSandbox(t, Options{Debounce: 200 * time.Millisecond})
	for i := range 5 {
		writeDisk(t, root, "acme/app/notes/"+strconv.Itoa(i)+".md", "x")
		time.Sleep(20 * time.Millisecond)
	}
	p := decode[pushJSON](t, rc.wait(t, 1)[0].body)
	if len(p.Commits) != 1 || len(p.Commits[0].Added) != 5 {
		t.Errorf("push commits = %+v, want one commit adding the 5 files", p.Commits)
	}
	time.Sleep(500 * time.Millisecond)
	if n := rc.count(); n != 1 {
		t.Errorf("deliveries after a burst of writes = %d, want 1", n)
	}
}

func TestWatcherRepositoryFolders(t *testing.T) {
	_, _, rc, root := watchedSandbox(t, Options{})
	writeDisk(t, root, "acme/new-repo/docs/plan.md", "- [ ] a\n")
	got := rc.wait(t, 2)
	if e := got[0].header.Get(webhook.HeaderEvent); e != "installation_repositories" {
		t.Fatalf("first delivery for a new folder = %s, want installation_repositories", e)
	}
	type reposJSON struct {
		Action          string
		RepositoriesAdd []struct {
			FullName string `json:"full_name"`
		} `json:"repositories_added"`
		RepositoriesRem []struct {
			FullName string `json:"full_name"`
		} `json:"repositories_removed"`
		Installation struct{ ID int64 }
	}
	added := decode[reposJSON](t, got[0].body)
	if added.Action != "added" || len(added.RepositoriesAdd) != 1 || added.RepositoriesAdd[0].FullName != "acme/new-repo" || added.Installation.ID != 1 {
		t.Errorf("installation_repositories = %+v, want acme/new-repo added to installation 1", added)
	}
	if got[1].header.Get(webhook.HeaderEvent) != "push" {
		t.Errorf("second delivery = %s, want the push of its files", got[1].header.Get(webhook.HeaderEvent))
	} else if p := decode[pushJSON](t, got[1].body); p.Before != zeroSHA || !p.Created {
		t.Errorf("first push of a new repository = before %s created %t, want %s and true", p.Before, p.Created, zeroSHA)
	}

	if err := os.RemoveAll(filepath.Join(root, "acme", "new-repo")); err != nil {
		t.Fatal(err)
	}
	got = rc.wait(t, 3)
	removed := decode[reposJSON](t, got[2].body)
	if got[2].header.Get(webhook.HeaderEvent) != "installation_repositories" || removed.Action != "removed" || len(removed.RepositoriesRem) != 1 || removed.RepositoriesRem[0].FullName != "acme/new-repo" {
		t.Errorf("delivery for a removed folder = %s %+v, want installation_repositories removing acme/new-repo", got[2].header.Get(webhook.HeaderEvent), removed)
	}
}

func TestNoWatchSendsNothingForFiles(t *testing.T) {
	s, _, rc, root := watchedSandbox(t, Options{NoWatch: true})
	writeDisk(t, root, "acme/app/docs/plan.md", "- [x] one\n")
	if err := s.WriteFile("acme", "app", "docs/plan.md", []byte("- [x] two\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := rc.count(); n != 0 {
		t.Errorf("deliveries with NoWatch = %d, want 0", n)
	}
	// Issues still send.
	if _, d, err := s.OpenIssue("acme", "app", false, "bug", ""); err != nil || d.Event != "issues" {
		t.Errorf("OpenIssue() = %+v, %v, want an issues delivery", d, err)
	}
}

// TestRedeliverySendsAgain: a failed delivery, redelivered through the API, is sent
// again with the same payload and GUID, and the new attempt records the real answer.
func TestRedeliverySendsAgain(t *testing.T) {
	s, base, rc, root := watchedSandbox(t, Options{})
	rc.failNext(http.StatusServiceUnavailable)
	writeDisk(t, root, "acme/app/docs/plan.md", "- [x] one\n")
	first := rc.wait(t, 1)[0]
	failed := waitRecorded(t, s, 1)[0]
	if failed.StatusCode != 503 || failed.Status != "Invalid HTTP Response: 503" || failed.Redelivery {
		t.Fatalf("failed delivery recorded as %+v, want status_code 503", failed)
	}

	auth := goodJWT(t, s, s.now())
	a := do(t, "GET", base+"/app/hook/deliveries", auth, nil)
	var listed []map[string]any
	a.json(t, &listed)
	if len(listed) != 1 || listed[0]["status_code"] != float64(503) || listed[0]["guid"] != failed.GUID || listed[0]["event"] != "push" {
		t.Errorf("GET /app/hook/deliveries = %s, want the failed push", a.body)
	}

	if a := do(t, "POST", base+"/app/hook/deliveries/"+strconv.FormatInt(failed.ID, 10)+"/attempts", auth, nil); a.status != http.StatusAccepted {
		t.Fatalf("redeliver = %d %s, want 202", a.status, a.body)
	}
	again := rc.wait(t, 2)[1]
	if g, w := again.header.Get(webhook.HeaderDelivery), first.header.Get(webhook.HeaderDelivery); g != w {
		t.Errorf("redelivery GUID = %s, want the original %s", g, w)
	}
	if string(again.body) != string(first.body) {
		t.Error("redelivery body differs from the original")
	}
	if err := webhook.NewVerifier(hookSecret).Verify(again.body, again.header.Get(webhook.HeaderSignature256)); err != nil {
		t.Errorf("redelivery signature: %v", err)
	}
	ds := waitRecorded(t, s, 2)
	if len(ds) != 2 {
		t.Fatalf("Deliveries() = %+v, want the failed attempt and its redelivery", ds)
	}
	var re Delivery
	for _, d := range ds {
		if d.Redelivery {
			re = d
		}
	}
	if re.GUID != failed.GUID || re.Status != "OK" || re.StatusCode != 202 || re.ID == failed.ID {
		t.Errorf("redelivery attempt = %+v, want an OK attempt with GUID %s", re, failed.GUID)
	}
}

func TestIssueAndPullRequestEndpoints(t *testing.T) {
	s, base, rc, _ := watchedSandbox(t, Options{NoWatch: true})
	type threadJSON struct {
		Action string
		Number int
		Issue  *struct {
			Number int
			State  string
			Title  string
		}
		PullRequest *struct {
			Number int
			State  string
			Title  string
			Head   struct{ Ref string }
		} `json:"pull_request"`
		Repository struct {
			FullName string `json:"full_name"`
		}
	}
	steps := []struct {
		name, path, body string
		wantStatus       int
		event, action    string
		number           int
	}{
		{"open issue", "/issues", `{"title":"Crash on start"}`, 201, "issues", "opened", 1},
		{"open pull request", "/pulls", `{"title":"Fix crash","head":"fix-crash"}`, 201, "pull_request", "opened", 2},
		{"close issue", "/issues/1/close", ``, 200, "issues", "closed", 1},
		{"close pull request", "/pulls/2/close", ``, 200, "pull_request", "closed", 2},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			a := do(t, "POST", base+"/_sandbox/repos/acme/app"+st.path, "", strings.NewReader(st.body), "Content-Type", "application/json")
			if a.status != st.wantStatus {
				t.Fatalf("POST %s = %d %s, want %d", st.path, a.status, a.body, st.wantStatus)
			}
			got := rc.wait(t, i+1)[i]
			if e := got.header.Get(webhook.HeaderEvent); e != st.event {
				t.Fatalf("event = %s, want %s", e, st.event)
			}
			if err := webhook.NewVerifier(hookSecret).Verify(got.body, got.header.Get(webhook.HeaderSignature256)); err != nil {
				t.Errorf("signature: %v", err)
			}
			p := decode[threadJSON](t, got.body)
			wantState := map[string]string{"opened": "open", "closed": "closed"}[st.action]
			switch {
			case p.Action != st.action || p.Repository.FullName != "acme/app":
				t.Errorf("payload action %s repo %s, want %s acme/app", p.Action, p.Repository.FullName, st.action)
			case st.event == "issues" && (p.Issue == nil || p.Issue.Number != st.number || p.Issue.State != wantState):
				t.Errorf("issue = %+v, want #%d %s", p.Issue, st.number, wantState)
			case st.event == "pull_request" && (p.PullRequest == nil || p.Number != st.number || p.PullRequest.State != wantState || p.PullRequest.Head.Ref != "fix-crash"):
				t.Errorf("pull request = %d %+v, want #%d %s from fix-crash", p.Number, p.PullRequest, st.number, wantState)
			}
			real := decode[map[string]any](t, testkit.PayloadBytes(t, st.event+"/opened.payload.json"))
			sent := decode[map[string]any](t, got.body)
			for _, k := range sortedKeys(real) {
				if _, ok := sent[k]; !ok {
					t.Errorf("payload lacks the real %s payload's key %q", st.event, k)
				}
			}
		})
	}
	for _, bad := range []struct{ path, body string }{
		{"/_sandbox/repos/acme/app/issues/9/close", ""},
		{"/_sandbox/repos/acme/app/pulls/1/close", ""}, // #1 is an issue
		{"/_sandbox/repos/acme/nope/issues", `{"title":"x"}`},
	} {
		if a := do(t, "POST", base+bad.path, "", strings.NewReader(bad.body)); a.status != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", bad.path, a.status)
		}
	}
	if a := do(t, "POST", base+"/_sandbox/repos/acme/app/issues", "", strings.NewReader(`{}`)); a.status != http.StatusUnprocessableEntity {
		t.Errorf("POST issues without a title = %d, want 422", a.status)
	}
	if n := len(s.Deliveries()); n != 4 {
		t.Errorf("recorded deliveries = %d, want 4", n)
	}
}

// TestUnreachableWebhookRecordsFailure: a delivery nobody answers is recorded failed with
// status_code 0, as GitHub records a connection failure.
func TestUnreachableWebhookRecordsFailure(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL + "/webhooks/github"
	dead.Close()
	root := t.TempDir()
	writeDisk(t, root, "acme/app/README.md", "# app\n")
	s, _ := NewServer(t, Options{Root: root, WebhookURL: url, WebhookSecret: hookSecret, NoWatch: true})
	_, d, err := s.OpenIssue("acme", "app", false, "Unheard", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.StatusCode != 0 || d.Status != "failed to connect to host" || d.Event != "issues" || d.Action != "opened" {
		t.Errorf("delivery to a closed port = %+v, want status_code 0, failed to connect to host", d)
	}
}

// TestSlowWebhookTimesOut: an answer later than WebhookTimeout (GitHub's 10 s) is recorded
// as timed out.
func TestSlowWebhookTimesOut(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	root := t.TempDir()
	writeDisk(t, root, "acme/app/README.md", "# app\n")
	s, _ := NewServer(t, Options{Root: root, WebhookURL: slow.URL, WebhookSecret: hookSecret, NoWatch: true, WebhookTimeout: 100 * time.Millisecond})
	_, d, err := s.OpenIssue("acme", "app", true, "Slow", "topic")
	if err != nil {
		t.Fatal(err)
	}
	if d.StatusCode != 0 || d.Status != "timed out" || d.Event != "pull_request" {
		t.Errorf("delivery to a slow endpoint = %+v, want status_code 0, timed out", d)
	}
}
