package devstack

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/testkit"
	"github.com/repotrackr/github-integration/pkg/webhook"
)

// ingestSenders is how many deliveries BenchmarkIngestThroughput keeps in flight per
// GOMAXPROCS (b.SetParallelism): enough to keep the gateway and every ingest
// environment busy on a small machine.
const ingestSenders = 4

// BenchmarkIngestThroughput measures deliveries per second through the local stack's
// gateway and ingest function on loopback: signed pushes (a real payload, each with a
// new X-GitHub-Delivery) posted by several senders at once, each counted when ingest
// answers 202 (queued). It does not wait for the processor, which handles the
// deliveries (irrelevant pushes: a tag of a repository with no project) meanwhile, on the
// same cores, as it would locally. pkg/processor/README.md records the figures:
//
//	go test -run '^$' -bench IngestThroughput -benchtime 2000x -benchmem ./pkg/local/devstack
func BenchmarkIngestThroughput(b *testing.B) {
	standin.SkipShort(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	root, tpl := projectTemplate(b)
	binDir, rie := buildFunctions(b, ctx, root, tpl)
	console := &testkit.LogBuffer{}
	stack, err := Start(ctx, Options{
		Root: root, StateDir: b.TempDir(), Ephemeral: true, FreePorts: true,
		BinDir: binDir, RIE: rie, Console: console, NoWatch: true,
	})
	if err != nil {
		b.Fatalf("Start() error = %v", err)
	}
	defer stack.Close()
	body := testkit.PayloadBytes(b, "push/with-installation.payload.json")
	sig := webhook.Sign(stack.WebhookSecret, body)
	url := stack.Info.GatewayURL + "/webhooks/github"
	// One keep-alive connection per sender: http.DefaultTransport keeps only two idle
	// connections a host, and the others would reconnect for each delivery.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	send := func() (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "GitHub-Hookshot/bench")
		req.Header.Set(webhook.HeaderEvent, "push")
		req.Header.Set(webhook.HeaderDelivery, lambdarie.NewUUID())
		req.Header.Set(webhook.HeaderSignature256, sig)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// One delivery first, so that the ingest environment's cold start is not counted.
	if status, err := send(); err != nil || status != http.StatusAccepted {
		b.Fatalf("first delivery = %d, %v; want 202", status, err)
	}
	var accepted atomic.Int64
	b.SetParallelism(ingestSenders)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			status, err := send()
			if err != nil || status != http.StatusAccepted {
				b.Errorf("delivery = %d, %v; want 202", status, err)
				return
			}
			accepted.Add(1)
		}
	})
	b.StopTimer()
	if b.Failed() {
		b.Logf("stack console:\n%s", console.String())
		return
	}
	if n := accepted.Load(); n != int64(b.N) {
		b.Fatalf("accepted %d deliveries, want %d", n, b.N)
	}
	b.ReportMetric(float64(accepted.Load())/b.Elapsed().Seconds(), "deliveries/s")
}
