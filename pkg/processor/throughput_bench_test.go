package processor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
)

// batchSize is the event source's batch size (template.yaml's BatchSize).
const batchSize = 10

// BenchmarkBatchThroughput measures deliveries per second through the processor as the
// function builds it (batched stats, EMF metrics, the real App client), handling SQS
// batches of 10 pushes to 10 repositories with projects, with DynamoDB served by
// dynalite and GitHub by the sandbox, both on the same machine. "irrelevant" pushes
// change only README.md (a projects query and one ignore write each; the batches are
// built before the timer starts); "relevant" pushes change the plan, committed to the
// sandbox before each batch inside the timed loop (GitHub reads, a snapshot and the
// project written). batches=N runs N batches at once, each worker on its own 10
// repositories, as the event source's concurrent invocations would; batches=1 is one
// batch after another. A relevant run makes about 30 GitHub requests a batch, and the
// sandbox allows 5,000 an hour: keep -benchtime at 150x or below. pkg/processor/README.md records the figures:
//
//	go test -run '^$' -bench BatchThroughput -benchtime 100x -benchmem ./pkg/processor
func BenchmarkBatchThroughput(b *testing.B) {
	standin.SkipShort(b)
	ctx := context.Background()
	st := store.New(standin.DynamoDB(b), store.TablesFrom(standin.SharedTables(b, "proc-"))).WithBatchedStats()
	// Each run has a sandbox of its own: the sandbox keeps GitHub's 5,000 requests an
	// hour per installation, which the relevant runs would otherwise use up.
	var sb *ghsandbox.Sandbox
	var p *Processor
	start := func(b *testing.B) {
		var url string
		sb, url = ghsandbox.NewServer(b, ghsandbox.Options{})
		client, err := ghapp.New(ghapp.Config{
			AppID: sb.AppID(), PrivateKey: sb.PrivateKeyPEM(), APIURL: url, WebURL: url,
			MaxRetryWait: 50 * time.Millisecond,
		})
		if err != nil {
			b.Fatal(err)
		}
		p = New(st, client, Config{
			Log:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Metrics: metrics.New(io.Discard, ""),
		})
	}

	// repos creates n repositories in the sandbox, each with a plan and a project
	// synced once (which also fetches the installation token the timed batches reuse).
	repos := func(b *testing.B, n int) []string {
		b.Helper()
		names := make([]string, n)
		for i := range names {
			names[i] = uniq("tput")
			if err := sb.WriteFile("sandbox-org", names[i], "docs/plan.md", []byte(planV1)); err != nil {
				b.Fatal(err)
			}
			pr, err := st.CreateProject(ctx, store.Project{ID: uniq("tput-proj"), Owner: "bench", Repo: "sandbox-org/" + names[i],
				RepoID: nameRepoID(names[i]), InstallationID: 1, PlanPath: "docs/plan.md"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.SyncProject(ctx, pr, uniq("tput-sync")); err != nil {
				b.Fatalf("SyncProject() error = %v", err)
			}
		}
		return names
	}
	// push is a push to main of repo changing path, from before to after.
	push := func(b *testing.B, repo, path, before, after string) events.SQSMessage {
		m := sandboxPush(b, repo)
		set(m, "before", before)
		set(m, "after", after)
		c := m["commits"].([]any)[0].(map[string]any)
		c["added"], c["removed"], c["modified"] = []any{}, []any{}, []any{path}
		return buildDelivery(b, "push", uniq("tput-delivery"), m, time.Now()).msg()
	}
	irrelevant := func(b *testing.B, names []string) events.SQSEvent {
		var ev events.SQSEvent
		for _, r := range names {
			ev.Records = append(ev.Records, push(b, r, "README.md",
				"6113728f27ae82c7b1a177c8d03f9e96e0adf246", "7113728f27ae82c7b1a177c8d03f9e96e0adf247"))
		}
		return ev
	}
	var edits atomic.Int64
	relevant := func(b *testing.B, names []string) events.SQSEvent {
		var ev events.SQSEvent
		for _, r := range names {
			before, _, err := sb.Head("sandbox-org", r)
			if err != nil {
				b.Error(err)
				return ev
			}
			plan := fmt.Sprintf("%s- [x] step %d\n", planV1, edits.Add(1))
			if err := sb.WriteFile("sandbox-org", r, "docs/plan.md", []byte(plan)); err != nil {
				b.Error(err)
				return ev
			}
			after, _, err := sb.Head("sandbox-org", r)
			if err != nil {
				b.Error(err)
				return ev
			}
			ev.Records = append(ev.Records, push(b, r, "docs/plan.md", before, after))
		}
		return ev
	}

	for _, kind := range []string{"irrelevant", "relevant"} {
		for _, workers := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("%s/batches=%d", kind, workers), func(b *testing.B) {
				start(b)
				own := make([][]string, workers)
				for w := range own {
					own[w] = repos(b, batchSize)
				}
				var built []events.SQSEvent
				if kind == "irrelevant" {
					for i := range b.N {
						built = append(built, irrelevant(b, own[i%workers]))
					}
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for w := range workers {
					wg.Go(func() {
						for {
							i := int(next.Add(1)) - 1
							if i >= b.N || b.Failed() {
								return
							}
							var ev events.SQSEvent
							if kind == "irrelevant" {
								ev = built[i]
							} else {
								ev = relevant(b, own[w])
							}
							resp, err := p.Handle(ctx, ev)
							if err != nil || len(resp.BatchItemFailures) != 0 {
								b.Errorf("Handle() = %+v, %v; want no failures", resp, err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "deliveries/s")
			})
		}
	}
}
