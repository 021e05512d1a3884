package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/local/chromium"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// buildFunctions builds every function of the template, and the emulator, into a
// temporary directory (BuildFunctions). The test always builds them, so that it never
// runs stale binaries.
func buildFunctions(t testing.TB, ctx context.Context, root string, tpl *samtemplate.Template) (binDir, rie string) {
	t.Helper()
	binDir, rie, err := BuildFunctions(ctx, root, t.TempDir(), tpl)
	if err != nil {
		t.Fatal(err)
	}
	return binDir, rie
}

// e2eStack is a whole local stack started for an end-to-end test from the real function
// binaries, on free ports, with ephemeral state.
type e2eStack struct {
	ctx      context.Context
	stack    *Stack
	console  *testkit.LogBuffer
	root     string
	tpl      *samtemplate.Template
	stateDir string
}

// startE2E starts the stack for an end-to-end test (skipped under -short), with edit
// setting what the test needs beyond the defaults; the console is shown when the test
// fails, and the stack stops when it ends. The context lives until the test's cleanups,
// so parallel subtests can use it.
func startE2E(t *testing.T, timeout time.Duration, edit func(*Options)) e2eStack {
	t.Helper()
	standin.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	root, tpl := projectTemplate(t)
	binDir, rie := buildFunctions(t, ctx, root, tpl)
	e := e2eStack{ctx: ctx, console: &testkit.LogBuffer{}, root: root, tpl: tpl, stateDir: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack console:\n%s", e.console.String())
		}
	})
	opts := Options{Root: root, StateDir: e.stateDir, Ephemeral: true, FreePorts: true,
		BinDir: binDir, RIE: rie, Console: e.console, MaxConcurrency: 2}
	edit(&opts)
	stack, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	t.Cleanup(func() {
		if err := stack.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})
	e.stack = stack
	return e
}

// devProject is the dev user's client of stack after the installation flow, with the
// demo repository registered as its project.
func devProject(tb testing.TB, ctx context.Context, stack *Stack) (*Client, *Project) {
	tb.Helper()
	c := &Client{BaseURL: stack.Info.GatewayURL, Token: stack.Token, WebhookSecret: stack.WebhookSecret}
	if err := c.InstallApp(ctx); err != nil {
		tb.Fatalf("InstallApp() error = %v", err)
	}
	p, _, err := c.EnsureProject(ctx, DemoRepo, DemoPlanPath)
	if err != nil {
		tb.Fatalf("register %s: %v", DemoRepo, err)
	}
	return c, p
}

// TestEndToEnd starts the whole stack on free ports, from the real function binaries,
// and drives it over HTTP as a user and as GitHub would.
func TestEndToEnd(t *testing.T) {
	const visibility = 2 * time.Second
	e := startE2E(t, 5*time.Minute, func(o *Options) {
		o.VisibilityTimeout = visibility
		// These subtests send their deliveries by hand; e2e_sender_test.go runs the sandbox's.
		o.NoWatch = true
	})
	ctx, stack, root, tpl := e.ctx, e.stack, e.root, e.tpl
	template, err := PushTemplate(root)
	if err != nil {
		t.Fatal(err)
	}
	// A second repository, for the failure case. It exists before the installation flow,
	// which stores the installation's repositories.
	const failing = DemoOwner + "/failing-app"
	if err := stack.Sandbox.WriteFile(DemoOwner, "failing-app", DemoPlanPath, []byte("# Plan\n\n- [ ] one\n")); err != nil {
		t.Fatal(err)
	}
	c, demo := devProject(t, ctx, stack)

	// The installation flow in a real browser: the start URL, the sandbox's installation
	// page, its redirect to the relay page (the front end's stand-in), whose script calls
	// the API's callback with the token it found in the URL fragment.
	t.Run("install flow in headless Chromium through the relay", func(t *testing.T) {
		bin, err := chromium.Find()
		if err != nil {
			t.Skipf("%v; `make status-page` installs it", err)
		}
		walk := func(t *testing.T, starter, browserUser string) (state, text string) {
			t.Helper()
			startTok, err := stack.DevToken(starter, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			browserTok, err := stack.DevToken(browserUser, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			var start struct {
				URL string `json:"url"`
			}
			sc := &Client{BaseURL: stack.Info.GatewayURL, Token: startTok}
			if err := sc.Do(ctx, http.MethodGet, "/auth/github/install/start", nil, &start); err != nil {
				t.Fatalf("install start as %s: %v", starter, err)
			}
			dom, err := chromium.DumpDOM(ctx, bin, start.URL+"#token="+url.QueryEscape(browserTok), 15*time.Second)
			if err != nil {
				t.Fatalf("DumpDOM() error = %v", err)
			}
			m := relayStatus.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("the browser did not end on the relay page:\n%s", dom)
			}
			return m[1], html.UnescapeString(m[2])
		}
		installations := func(t *testing.T, user string) []any {
			t.Helper()
			tok, err := stack.DevToken(user, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				Installations []any `json:"installations"`
			}
			if err := (&Client{BaseURL: stack.Info.GatewayURL, Token: tok}).Do(ctx, http.MethodGet, "/auth/github/installations", nil, &out); err != nil {
				t.Fatalf("GET installations as %s: %v", user, err)
			}
			return out.Installations
		}
		t.Run("the user who started it", func(t *testing.T) {
			state, text := walk(t, "browser-user", "browser-user")
			if state != "success" || !strings.Contains(text, "Installation 1 is linked") {
				t.Fatalf("relay page = %s %q, want success for installation 1", state, text)
			}
			if got := installations(t, "browser-user"); len(got) != 1 {
				t.Errorf("installations of browser-user = %v, want installation 1", got)
			}
		})
		t.Run("a victim completing the attacker's link", func(t *testing.T) {
			state, text := walk(t, "mallory", "victim")
			if state != "error" || !strings.Contains(text, "(403)") || !strings.Contains(text, "started by another RepoTrackr user") {
				t.Fatalf("relay page = %s %q, want the API's 403", state, text)
			}
			for _, u := range []string{"mallory", "victim"} {
				if got := installations(t, u); len(got) != 0 {
					t.Errorf("installations of %s = %v, want none", u, got)
				}
			}
			tok, err := stack.DevToken("mallory", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			err = (&Client{BaseURL: stack.Info.GatewayURL, Token: tok}).Do(ctx, http.MethodPost, "/projects", map[string]string{"repo": DemoRepo}, nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
				t.Errorf("POST /projects %s as mallory error = %v, want 403", DemoRepo, err)
			}
		})
	})

	// A folder made under .devstack/github/ after the installation was linked is a new
	// repository of installation 1: registrable at once, GitHub (the sandbox) being asked.
	t.Run("new sandbox folder is registrable at once", func(t *testing.T) {
		dir := filepath.Join(stack.opts.StateDir, dirGitHub, DemoOwner, "fresh-folder", "docs")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "plan.md"), []byte("# Plan\n\n- [x] one\n- [ ] two\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p, created, err := c.EnsureProject(ctx, DemoOwner+"/fresh-folder", DemoPlanPath)
		if err != nil || !created || p.ID == "" {
			t.Fatalf("register %s/fresh-folder = %+v, %v, %v, want a new project", DemoOwner, p, created, err)
		}
	})

	// A forged delivery is refused before anything reaches the queue. It runs first,
	// while nothing else is queued, so that the queue's depth tells.
	t.Run("forged delivery is refused and nothing is queued", func(t *testing.T) {
		head, at, err := stack.Sandbox.Head(DemoOwner, DemoRepoName)
		if err != nil {
			t.Fatal(err)
		}
		d := deliverPush(t, ctx, c, template, Push{Repo: DemoRepo, Before: head, After: head, At: at, Modified: []string{DemoPlanPath}, RepositoryID: sandboxRepoID(t, stack, DemoRepo)}, true, http.StatusUnauthorized)
		if n, err := stack.QueueDepth(ctx, "EventsQueue"); err != nil || n != 0 {
			t.Errorf("EventsQueue depth after a forged delivery = %d (%v), want 0", n, err)
		}
		// Past the poller's batching window: had anything been queued, the processor
		// would have logged the delivery by now.
		time.Sleep(1500 * time.Millisecond)
		if e := findDelivery(t, ctx, stack, d.ID); e != nil {
			t.Errorf("forged delivery %s reached the processor: %+v", d.ID, e)
		}
	})

	t.Run("signed push ends as a new snapshot", func(t *testing.T) {
		t.Parallel()
		before, err := c.WaitProject(ctx, demo.ID, 30*time.Second, func(p *Project) bool { return p.LatestSnapshot != nil })
		if err != nil {
			t.Fatalf("project has no first snapshot: %v", err)
		}
		head, _, err := stack.Sandbox.Head(DemoOwner, DemoRepoName)
		if err != nil {
			t.Fatal(err)
		}
		planFile := filepath.Join(stack.opts.StateDir, dirGitHub, DemoOwner, DemoRepoName, filepath.FromSlash(DemoPlanPath))
		plan, err := os.ReadFile(planFile)
		if err != nil {
			t.Fatal(err)
		}
		updated, n := tickTasks(plan, 2)
		if err := stack.Sandbox.WriteFile(DemoOwner, DemoRepoName, DemoPlanPath, updated); err != nil {
			t.Fatal(err)
		}
		after, at, err := stack.Sandbox.Head(DemoOwner, DemoRepoName)
		if err != nil {
			t.Fatal(err)
		}
		d := deliverPush(t, ctx, c, template, Push{Repo: DemoRepo, Before: head, After: after, At: at, Modified: []string{DemoPlanPath}, RepositoryID: sandboxRepoID(t, stack, DemoRepo)}, false, http.StatusAccepted)
		p, err := c.WaitProject(ctx, demo.ID, 30*time.Second, func(p *Project) bool { return snapshotAt(p, after) })
		if err != nil {
			t.Fatalf("GET /projects/%s never showed commit %s: %v", demo.ID, after, err)
		}
		got, was := p.LatestSnapshot, before.LatestSnapshot
		if got.TasksDone != was.TasksDone+n || got.TasksTotal != was.TasksTotal {
			t.Errorf("snapshot tasks = %d/%d, want %d/%d (%d ticked)", got.TasksDone, got.TasksTotal, was.TasksDone+n, was.TasksTotal, n)
		}
		if got.Progress <= was.Progress {
			t.Errorf("progress = %v, want more than %v", got.Progress, was.Progress)
		}
		// The snapshot is written before the delivery is marked done: wait for that too.
		if e := waitDelivery(t, ctx, stack, d.ID, store.EventProcessed, 10*time.Second); e == nil || e.Status != store.EventProcessed {
			t.Errorf("delivery history entry = %+v, want status processed", e)
		}
	})

	t.Run("processor failure lands in the dead-letter queue", func(t *testing.T) {
		t.Parallel()
		const repo = failing
		if _, _, err := c.EnsureProject(ctx, repo, DemoPlanPath); err != nil {
			t.Fatalf("register %s: %v", repo, err)
		}
		// From now on every GitHub call about the repository fails with 502.
		stack.Sandbox.InjectFault(ghsandbox.Fault{Path: "/repos/" + repo + "/**", Status: http.StatusBadGateway, Times: 1 << 20})
		head, at, err := stack.Sandbox.Head(DemoOwner, "failing-app")
		if err != nil {
			t.Fatal(err)
		}
		d := deliverPush(t, ctx, c, template, Push{Repo: repo, Before: strings.Repeat("0", 40), After: head, At: at, Modified: []string{DemoPlanPath}, RepositoryID: sandboxRepoID(t, stack, repo)}, false, http.StatusAccepted)
		dlq := stack.QueueURL(deadLetterQueue(t, tpl))
		deadline := time.Now().Add(90 * time.Second)
		var found bool
		for !found && time.Now().Before(deadline) {
			out, err := stack.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range out.Messages {
				var env envelope.Envelope
				if json.Unmarshal([]byte(aws.ToString(m.Body)), &env) == nil && env.DeliveryID == d.ID {
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("delivery %s not in the dead-letter queue after 90s", d.ID)
		}
		if n, err := stack.QueueDepth(ctx, "EventsQueue"); err != nil || n != 0 {
			t.Errorf("EventsQueue depth = %d (%v), want 0 once the message moved", n, err)
		}
		e := findDelivery(t, ctx, stack, d.ID)
		if e != nil {
			t.Logf("event log: %s after %d attempts: %s", e.Status, e.Attempts, e.Error)
		}
		if e == nil || e.Status != store.EventFailed || e.Attempts < 1 || e.Attempts > maxReceiveCount(t, tpl) {
			t.Errorf("delivery history entry = %+v, want failed after 1..%d attempts", e, maxReceiveCount(t, tpl))
		}
	})
}

// relayStatus finds the relay page's status line: its state and text.
var relayStatus = regexp.MustCompile(`<p id="status" data-state="([a-z-]+)"[^>]*>([^<]*)</p>`)

// findDelivery reads a delivery's entry of the webhook event log, or nil.
func findDelivery(t *testing.T, ctx context.Context, s *Stack, id string) *store.Event {
	t.Helper()
	var e store.Event
	err := dynamo.NewFromIface(s.DynamoDB).Table(s.Info.Resources.Tables["EventsTable"]).Get("delivery_id", id).One(ctx, &e)
	if errors.Is(err, dynamo.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("read event log entry %s: %v", id, err)
	}
	return &e
}

// waitDelivery polls the event log entry until it has status, or timeout passes, and
// returns it as last read.
func waitDelivery(t *testing.T, ctx context.Context, s *Stack, id, status string, timeout time.Duration) *store.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		e := findDelivery(t, ctx, s, id)
		if (e != nil && e.Status == status) || time.Now().After(deadline) {
			return e
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func deadLetterQueue(t *testing.T, tpl *samtemplate.Template) string {
	t.Helper()
	for _, q := range tpl.Queues() {
		if q.LogicalID == "EventsQueue" && q.DeadLetterQueue != "" {
			return q.DeadLetterQueue
		}
	}
	t.Fatal("EventsQueue has no dead-letter queue in template.yaml")
	return ""
}

func maxReceiveCount(t *testing.T, tpl *samtemplate.Template) int {
	t.Helper()
	for _, q := range tpl.Queues() {
		if q.LogicalID == "EventsQueue" {
			return q.MaxReceiveCount
		}
	}
	t.Fatal("no EventsQueue in template.yaml")
	return 0
}

// sandboxRepoID is the id the sandbox gives repo (owner/name), which pushes carry.
func sandboxRepoID(t testing.TB, stack *Stack, repo string) int64 {
	t.Helper()
	owner, name, _ := strings.Cut(repo, "/")
	id, err := stack.Sandbox.RepositoryID(owner, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// deliverPush sends the push p to the stack as GitHub would, or forged (signed with
// another secret), and checks the status of the answer.
func deliverPush(t *testing.T, ctx context.Context, c *Client, template []byte, p Push, forged bool, want int) Delivery {
	t.Helper()
	d, err := PushDelivery(template, p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Deliver(ctx, d, forged)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != want {
		t.Fatalf("push %s (forged %t) answered %d %s, want %d", d.ID, forged, res.Status, res.Body, want)
	}
	return d
}
