package devstack

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/redeliver"
	"github.com/repotrackr/github-integration/pkg/store"
)

// TestEndToEndSandboxWebhooks runs the stack as `make dev` does, the sandbox's watcher on,
// from the real function binaries: GitHub's side of every delivery here is the sandbox's
// own sender; the test only edits files, opens an issue, pauses SQS and invokes the
// redeliver job.
func TestEndToEndSandboxWebhooks(t *testing.T) {
	e := startE2E(t, 4*time.Minute, func(o *Options) { o.VisibilityTimeout = 2 * time.Second })
	ctx, stack, console, root, stateDir := e.ctx, e.stack, e.console, e.root, e.stateDir
	c := &Client{BaseURL: stack.Info.GatewayURL, Token: stack.Token}
	planFile := filepath.Join(stateDir, dirGitHub, DemoOwner, DemoRepoName, filepath.FromSlash(DemoPlanPath))

	// make demo links the installation, registers the demo project and ticks tasks; the
	// push that moves the project comes from the sandbox alone.
	var demo *Project
	t.Run("make demo", func(t *testing.T) {
		var out strings.Builder
		if err := RunDemo(ctx, DemoOptions{Root: root, StateDir: stateDir, Tick: 2, Out: &out, Wait: 30 * time.Second}); err != nil {
			t.Fatalf("RunDemo() error = %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "after:") {
			t.Errorf("demo output lacks the progress after the push:\n%s", out.String())
		}
		p, _, err := c.EnsureProject(ctx, DemoRepo, DemoPlanPath)
		if err != nil {
			t.Fatal(err)
		}
		demo = p
	})
	if demo == nil {
		t.Fatal("no demo project")
	}

	// tickPlan ticks one task of the plan as an editor would, and returns the project's
	// tasks done before.
	tickPlan := func(t *testing.T) int {
		t.Helper()
		head, _, err := stack.Sandbox.Head(DemoOwner, DemoRepoName)
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.WaitProject(ctx, demo.ID, 30*time.Second, func(p *Project) bool { return snapshotAt(p, head) })
		if err != nil {
			t.Fatalf("project never read the current head %s: %v", head, err)
		}
		plan, err := os.ReadFile(planFile)
		if err != nil {
			t.Fatal(err)
		}
		updated, n := tickTasks(plan, 1)
		if n != 1 {
			t.Fatal("no open task left in the demo plan")
		}
		if err := os.WriteFile(planFile, updated, 0o644); err != nil {
			t.Fatal(err)
		}
		return p.LatestSnapshot.TasksDone
	}

	t.Run("an edit under .devstack/github moves the progress within 10 s", func(t *testing.T) {
		done := tickPlan(t)
		start := time.Now()
		p, err := c.WaitProject(ctx, demo.ID, 10*time.Second, func(p *Project) bool {
			return p.LatestSnapshot != nil && p.LatestSnapshot.TasksDone == done+1
		})
		if err != nil {
			t.Fatalf("progress did not move within 10 s of the edit: %v", err)
		}
		t.Logf("edit to progress: %s", time.Since(start).Round(10*time.Millisecond))
		head, _, err := stack.Sandbox.Head(DemoOwner, DemoRepoName)
		if err != nil {
			t.Fatal(err)
		}
		if p.LatestSnapshot.CommitSHA != head {
			t.Errorf("snapshot commit = %s, want the sandbox's head %s", p.LatestSnapshot.CommitSHA, head)
		}
		if !consoleLine.MatchString(console.String()) {
			t.Errorf("console has no line for the push:\n%s", console.String())
		}
	})

	t.Run("deliveries failed while SQS is paused are recovered by the redeliver job", func(t *testing.T) {
		seen := len(stack.Sandbox.Deliveries())
		resume, err := stack.Pause(ComponentSQS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(resume)
		done := tickPlan(t)
		// An issue too, through the sandbox's endpoint, as people trying the stack do.
		resp, err := http.Post(stack.Info.GitHubAPIURL+"_sandbox/repos/"+DemoRepo+"/issues", "application/json", strings.NewReader(`{"title":"Outage drill"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("open an issue = %d, want 201", resp.StatusCode)
		}
		failed := waitDeliveries(t, stack.Sandbox, seen+2, 20*time.Second)[:2]
		for _, d := range failed {
			if d.StatusCode < 500 || d.Status == "OK" {
				t.Fatalf("delivery during the SQS outage = %+v, want a 5xx from ingest", d)
			}
		}
		resume()

		// The job redelivers only attempts older than its MinAge: age them rather than
		// wait, then run it as its schedule would.
		stack.Sandbox.AgeDeliveries(redeliver.DefaultMinAge + time.Minute)
		payload, _ := json.Marshal(ScheduledEvent(stack.Info.Resources.Region, "RedeliverFunctionEvery10Minutes", time.Now()))
		res, err := stack.Functions["redeliver"].Invoke(ctx, payload)
		if err != nil || res.FunctionError != "" {
			t.Fatalf("invoke redeliver = %v %s", err, res.Payload)
		}
		var run redeliver.Result
		if err := json.Unmarshal(res.Payload, &run); err != nil {
			t.Fatalf("redeliver answer %s: %v", res.Payload, err)
		}
		if run.Redelivered != len(failed) || run.Errors != 0 {
			t.Errorf("redeliver run = %+v, want %d redelivered", run, len(failed))
		}
		all := waitDeliveries(t, stack.Sandbox, seen+4, 20*time.Second)
		for _, f := range failed {
			ok := false
			for _, d := range all {
				ok = ok || (d.GUID == f.GUID && d.Redelivery && d.Status == "OK")
			}
			if !ok {
				t.Errorf("delivery %s (%s) has no OK redelivery: %+v", f.GUID, f.Event, all)
			}
			deadline := time.Now().Add(20 * time.Second)
			e := findDelivery(t, ctx, stack, f.GUID)
			// A message SQS took just before the pause may be queued after all (ingest
			// could not know): then the redelivery is the duplicate, and either way the
			// delivery ends processed once.
			for (e == nil || e.Status == store.EventQueued || e.Status == store.EventProcessing) && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				e = findDelivery(t, ctx, stack, f.GUID)
			}
			if e == nil || (e.Status != store.EventProcessed && e.Status != store.EventIgnored) {
				t.Errorf("event log of %s (%s) = %+v, want processed or ignored", f.GUID, f.Event, e)
			}
		}
		if _, err := c.WaitProject(ctx, demo.ID, 20*time.Second, func(p *Project) bool {
			return p.LatestSnapshot != nil && p.LatestSnapshot.TasksDone == done+1
		}); err != nil {
			t.Errorf("the redelivered push did not move the progress: %v", err)
		}
	})
}

// consoleLine is the stack's console line for the sandbox's push of the demo plan.
var consoleLine = regexp.MustCompile(`github\s+\| delivery push ` + regexp.QuoteMeta(DemoRepo) + ` docs/plan\.md \(modified\) → 202 `)

// waitDeliveries waits until the sandbox has recorded n attempts and returns them, newest
// first.
func waitDeliveries(t *testing.T, sb *ghsandbox.Sandbox, n int, wait time.Duration) []ghsandbox.Delivery {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ds := sb.Deliveries()
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox recorded %d deliveries after %s, want %d: %+v", len(ds), wait, n, ds)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
