// Command statuspage renders the status page with sample data and takes a screenshot
// of it in a headless Chromium (make status-page), so that a person can see what the
// page looks like without deploying anything. The data goes the real way: sample EMF
// lines into the CloudWatch stand-in (pkg/local/cwlocal), read back with the SDK's
// GetMetricData; the queues and the event log are samples in memory.
//
//	statuspage -out bin/status-page.png     write the screenshot
//	statuspage -serve 127.0.0.1:8099        serve the page for a browser instead
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/health"
	"github.com/repotrackr/github-integration/pkg/local/chromium"
	"github.com/repotrackr/github-integration/pkg/local/cwlocal"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
)

const (
	sampleQueue = "https://sqs.us-east-1.amazonaws.com/123456789012/sample-EventsQueue"
	sampleDLQ   = "https://sqs.us-east-1.amazonaws.com/123456789012/sample-EventsDLQ"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "statuspage:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "bin/status-page.png", "where to write the screenshot")
	serve := flag.String("serve", "", "serve the page on this address instead of taking a screenshot")
	bin := flag.String("chromium", "", "Chromium binary (default: chromium on PATH)")
	width := flag.Int("width", 1200, "window width of the screenshot")
	height := flag.Int("height", 900, "window height of the screenshot")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	now := time.Now().UTC()

	cw := cwlocal.New()
	feedSample(cw, now)
	cwAddr, stopCW, err := listen("127.0.0.1:0", cw.Handler())
	if err != nil {
		return err
	}
	defer stopCW()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		config.WithBaseEndpoint("http://"+cwAddr))
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	checker := health.NewChecker(health.Config{QueueURL: sampleQueue, DLQURL: sampleDLQ},
		cloudwatch.NewFromConfig(cfg), sampleQueues{}, sampleLog(now))
	h := health.NewHandler(checker, slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	addr := *serve
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	pageAddr, stopPage, err := listen(addr, h)
	if err != nil {
		return err
	}
	defer stopPage()
	url := "http://" + pageAddr + health.RouteStatus
	if *serve != "" {
		fmt.Println("status page with sample data:", url)
		<-ctx.Done()
		return nil
	}

	binary := *bin
	if binary == "" {
		if binary, err = chromium.Find(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	shotCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := chromium.Screenshot(shotCtx, binary, url, *out, *width, *height); err != nil {
		return err
	}
	fmt.Println("wrote", *out)
	return nil
}

// listen serves h on addr (loopback) and returns the address and a stop function.
func listen(addr string, h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "statuspage: serve:", err)
		}
	}()
	return l.Addr().String(), func() { _ = srv.Close() }, nil
}

// feedSample prints a day of traffic as the functions would, EMF line by EMF line:
// a daily rhythm of deliveries, a few rejected ones, and a bad hour of failures.
func feedSample(cw *cwlocal.Server, now time.Time) {
	rng := rand.New(rand.NewPCG(6, 24))
	types := []string{"push", "push", "pull_request", "issues", "installation_repositories"}
	for h := 23; h >= 0; h-- {
		hourStart := now.Truncate(time.Hour).Add(-time.Duration(h) * time.Hour)
		n := 14 + int(10*float64((24-h)%12)/12) + rng.IntN(8)
		for i := range n {
			at := hourStart.Add(time.Duration(rng.IntN(3600)) * time.Second)
			if at.After(now) {
				at = now.Add(-time.Duration(i+1) * 20 * time.Second)
			}
			typ := types[rng.IntN(len(types))]
			emit(cw, at, metrics.DimEventType, typ, metrics.Count(metrics.DeliveriesReceived, 1), metrics.Count(metrics.DeliveriesQueued, 1))
			failed := (h == 7 && i%3 == 0) || rng.IntN(60) == 0
			if failed {
				emit(cw, at.Add(2*time.Second), metrics.DimEventType, typ, metrics.Count(metrics.EventsFailed, 1))
			} else {
				emit(cw, at.Add(time.Second), metrics.DimEventType, typ, metrics.Count(metrics.EventsProcessed, 1))
			}
		}
		if h%5 == 0 {
			emit(cw, hourStart.Add(10*time.Minute), metrics.DimReason, "bad_signature",
				metrics.Count(metrics.DeliveriesReceived, 1), metrics.Count(metrics.DeliveriesRejected, 1))
		}
	}
}

func emit(cw *cwlocal.Server, at time.Time, dim, value string, ms ...metrics.Metric) {
	var buf bytes.Buffer
	metrics.New(&buf, "").Emit(dim, value, nil, ms...)
	var line map[string]any
	if json.Unmarshal(buf.Bytes(), &line) != nil {
		return
	}
	// The Emitter stamps the wall clock; the sample spreads lines over the day.
	line["_aws"].(map[string]any)["Timestamp"] = at.UnixMilli()
	b, _ := json.Marshal(line)
	cw.Ingest(b)
}

// sampleQueues is an empty events queue and one message in the DLQ.
type sampleQueues struct{}

func (sampleQueues) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	visible := 0
	if aws.ToString(in.QueueUrl) == sampleDLQ {
		visible = 1
	}
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{
		"ApproximateNumberOfMessages": strconv.Itoa(visible), "ApproximateNumberOfMessagesNotVisible": "0",
	}}, nil
}

// sampleLog is an event log of recent deliveries.
type sampleLog time.Time

func (l sampleLog) LatestEvents(_ context.Context, n int) ([]store.Event, error) {
	now := time.Time(l)
	kinds := []struct{ typ, action, status string }{
		{"push", "", store.EventProcessed}, {"pull_request", "opened", store.EventProcessed},
		{"issues", "closed", store.EventProcessed}, {"push", "", store.EventIgnored},
		{"pull_request", "synchronize", store.EventDuplicate}, {"issues", "labeled", store.EventFailed},
		{"push", "", store.EventProcessing},
	}
	var out []store.Event
	for i := range n {
		k := kinds[i%len(kinds)]
		at := now.Add(-time.Duration(i*i+1) * 47 * time.Second)
		ev := store.Event{DeliveryID: fmt.Sprint("sample-", i), EventType: k.typ, Action: k.action, Status: k.status, ReceivedAt: at, Attempts: 1}
		if k.status == store.EventFailed {
			ev.Attempts = 3
		}
		if k.status != store.EventProcessing {
			done := at.Add(time.Duration(300+i*97) * time.Millisecond)
			ev.ProcessedAt = &done
		}
		out = append(out, ev)
	}
	return out, nil
}
