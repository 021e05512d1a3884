package processor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
)

// sandboxChildEnv names the sandbox root when the test binary runs as the benchmark's
// GitHub (see runSandboxChild): the sandbox serves from its own process, so that what
// it allocates to serve 24 MiB files is not counted as the processor's.
const sandboxChildEnv = "PROCESSOR_BENCH_SANDBOX_ROOT"

// runSandboxChild serves a sandbox over the root in sandboxChildEnv, with the key in
// root/.key, and writes its URL on stdout; it runs until stdin closes.
func runSandboxChild(root string) int {
	key, err := os.ReadFile(filepath.Join(root, ".key"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox child:", err)
		return 1
	}
	sb, err := ghsandbox.New(ghsandbox.Options{Root: filepath.Join(root, "repos"), PrivateKeyPEM: key})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox child:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox child:", err)
		return 1
	}
	go func() { _ = http.Serve(ln, sb.Handler()) }()
	fmt.Printf("http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// hostileRepos writes the hostile repositories under root/repos/sandbox-org and
// returns their names: plans of 1 MiB of lines of 64-deep nested task lists (the size
// limit, so they are read and parsed), a 24 MiB package.json, a 24 MiB Cargo.toml, a
// Cargo.toml of 512 KiB of inline tables (the costliest manifest under the limit) and
// 400 manifests.
func hostileRepos(b *testing.B, root string, plans int) []string {
	b.Helper()
	write := func(repo, p string, data []byte) {
		full := filepath.Join(root, "repos", "sandbox-org", repo, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	fill := func(unit string, size int) []byte { return []byte(strings.Repeat(unit, size/len(unit))) }
	nested := fill(strings.Repeat("- ", 64)+"[x] a\n", MaxPlanSize)
	small := []byte(planV1)
	var names []string
	for i := range plans {
		n := fmt.Sprintf("nested-plan-%d", i)
		write(n, "docs/plan.md", nested)
		names = append(names, n)
	}
	write("big-npm", "docs/plan.md", small)
	write("big-npm", "package.json", append([]byte(`{"dependencies":{`), fill(`"a":"1",`, 24<<20)...))
	write("big-cargo", "docs/plan.md", small)
	write("big-cargo", "Cargo.toml", fill("x = [[[[[[[[", 24<<20))
	write("inline-cargo", "docs/plan.md", small)
	write("inline-cargo", "Cargo.toml", append([]byte("x = ["), fill("{a=1},", MaxManifestSize-16)...))
	write("many-manifests", "docs/plan.md", small)
	for i := range 400 {
		write("many-manifests", fmt.Sprintf("m%03d/go.mod", i), []byte(goMod))
	}
	return append(names, "big-npm", "big-cargo", "inline-cargo", "many-manifests")
}

// peakSampler records the largest heap and runtime total seen while it runs.
type peakSampler struct {
	heap, total atomic.Uint64
	stop        chan struct{}
	wg          sync.WaitGroup
}

func startPeakSampler() *peakSampler {
	p := &peakSampler{stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > p.heap.Load() {
				p.heap.Store(v)
			}
			if v := s[1].Value.Uint64(); v > p.total.Load() {
				p.total.Store(v)
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) done() (heapMiB, totalMiB float64) {
	close(p.stop)
	p.wg.Wait()
	return float64(p.heap.Load()) / (1 << 20), float64(p.total.Load()) / (1 << 20)
}

// BenchmarkHostileBatch runs one SQS batch of pushes to the hostile repositories
// through the processor, with GitHub served by the sandbox from another process and
// DynamoDB by dynalite, and reports the processor process's peak heap
// (peak-heap-MiB: live and unswept objects) and peak memory mapped by the Go runtime
// (peak-total-MiB, the part of RSS the runtime controls). Run it as the function runs,
// under its GOMEMLIMIT (pkg/processor/README.md):
//
//	GOMEMLIMIT=460MiB go test -run '^$' -bench BenchmarkHostileBatch -benchtime 3x -benchmem ./pkg/processor
func BenchmarkHostileBatch(b *testing.B) {
	root := b.TempDir()
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".key"), key, 0o600); err != nil {
		b.Fatal(err)
	}
	repos := hostileRepos(b, root, 6) // with the other five: one batch of ten

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), sandboxChildEnv+"="+root)
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = child.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("sandbox child: %v", err)
	}
	url = strings.TrimSpace(url)

	client, err := ghapp.New(ghapp.Config{AppID: ghsandbox.DefaultAppID, PrivateKey: key, APIURL: url, WebURL: url, MaxRetryWait: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ddb := standin.DynamoDB(b)
	tables := store.TablesFrom(standin.SharedTables(b, "proc-"))
	st := store.New(ddb, tables)
	p := New(st, client, Config{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	projects := map[string]string{}
	for _, r := range repos {
		pr, err := st.CreateProject(ctx, store.Project{ID: uniq("bench"), Owner: "bench", Repo: "sandbox-org/" + r, RepoID: nameRepoID(r), InstallationID: 1, PlanPath: "docs/plan.md"})
		if err != nil {
			b.Fatal(err)
		}
		projects[r] = pr.ID
	}
	batch := func() events.SQSEvent {
		var ev events.SQSEvent
		for _, r := range repos {
			m := sandboxPush(b, r)
			m["commits"].([]any)[0].(map[string]any)["modified"] = []any{"docs/plan.md"}
			d := buildDelivery(b, "push", uniq("bench-delivery"), m, time.Now())
			ev.Records = append(ev.Records, d.msg())
		}
		return ev
	}

	var peakHeap, peakTotal float64
	runtime.GC()
	for b.Loop() {
		b.StopTimer()
		ev := batch()
		runtime.GC()
		b.StartTimer()
		s := startPeakSampler()
		resp, err := p.Handle(ctx, ev)
		h, t := s.done()
		peakHeap, peakTotal = max(peakHeap, h), max(peakTotal, t)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("Handle() = %+v, %v; want no failures", resp, err)
		}
	}
	b.ReportMetric(peakHeap, "peak-heap-MiB")
	b.ReportMetric(peakTotal, "peak-total-MiB")

	// What each hostile repository came to.
	for _, r := range repos[len(repos)-5:] {
		var pr store.Project
		if err := dynamo.NewFromIface(ddb).Table(tables.Projects).Get("id", projects[r]).One(ctx, &pr); err == nil && pr.LatestSnapshot != nil {
			s := pr.LatestSnapshot
			b.Logf("%s: status %s, plan found %v, %d manifests (%d skipped), %d dependencies, truncated %v",
				r, pr.Status, s.PlanFound, len(s.Manifests), s.ManifestsSkipped, len(s.Deps), s.Truncated)
		}
	}
}
