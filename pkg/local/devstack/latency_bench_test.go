package devstack

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// BenchmarkPushToSnapshot measures the whole local path with light traffic: one signed
// push at a time, from sending it to the gateway until the project item shows its
// commit, polled every 2 ms. It reports the p50 and p99 of b.N pushes (run with
// -benchtime 300x for a few hundred) and the share of the time the gateway took to
// accept the delivery (ingest). pkg/processor/README.md records the figures.
func BenchmarkPushToSnapshot(b *testing.B) {
	standin.SkipShort(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	root, tpl := projectTemplate(b)
	binDir, rie := buildFunctions(b, ctx, root, tpl)
	stack, err := Start(ctx, Options{
		Root: root, StateDir: b.TempDir(), Ephemeral: true, FreePorts: true,
		BinDir: binDir, RIE: rie, Console: &testkit.LogBuffer{}, MaxConcurrency: 2,
		// The benchmark sends its own pushes: the watcher's for the same edits would
		// be a second delivery of every change.
		NoWatch: true,
	})
	if err != nil {
		b.Fatalf("Start() error = %v", err)
	}
	defer stack.Close()
	template, err := PushTemplate(root)
	if err != nil {
		b.Fatal(err)
	}
	c, demo := devProject(b, ctx, stack)
	projects := dynamo.NewFromIface(stack.DynamoDB).Table(stack.Info.Resources.Tables["ProjectsTable"])
	repoID := sandboxRepoID(b, stack, DemoRepo)
	plan := []byte("# Plan\n\n- [ ] one\n- [ ] two\n")
	var total, accept []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		plan = append(plan, []byte("- [x] step\n")...)
		before, _, _ := stack.Sandbox.Head(DemoOwner, DemoRepoName)
		if err := stack.Sandbox.WriteFile(DemoOwner, DemoRepoName, DemoPlanPath, plan); err != nil {
			b.Fatal(err)
		}
		after, at, err := stack.Sandbox.Head(DemoOwner, DemoRepoName)
		if err != nil {
			b.Fatal(err)
		}
		d, err := PushDelivery(template, Push{Repo: DemoRepo, Before: before, After: after, At: at, Modified: []string{DemoPlanPath}, RepositoryID: repoID})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := c.Deliver(ctx, d, false)
		if err != nil || res.Status != 202 {
			b.Fatalf("push %d: %v %+v", i, err, res)
		}
		accepted := time.Since(start)
		for {
			var p store.Project
			if err := projects.Get("id", demo.ID).Consistent(true).One(ctx, &p); err != nil {
				b.Fatal(err)
			}
			if p.LatestSnapshot != nil && p.LatestSnapshot.CommitSHA == after {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("push %d: no snapshot of %s after 30 s", i, after)
			}
			time.Sleep(2 * time.Millisecond)
		}
		total = append(total, time.Since(start))
		accept = append(accept, accepted)
	}
	b.StopTimer()
	slices.Sort(total)
	slices.Sort(accept)
	q := func(xs []time.Duration, p float64) float64 {
		return float64(xs[int(p*float64(len(xs)-1))].Milliseconds())
	}
	b.ReportMetric(q(total, 0.5), "p50-ms")
	b.ReportMetric(q(total, 0.99), "p99-ms")
	b.ReportMetric(q(accept, 0.5), "accept-p50-ms")
}
