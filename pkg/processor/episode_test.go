package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/poller"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
)

// episodeScale is how many simulated seconds pass per real second: SQS (fauxqs) keeps
// real time, so visibility timeouts are divided by it on their way to the queue.
const episodeScale = 120

// scaledClock is the real clock until start, then runs episodeScale times faster. The
// set-up mints the installation tokens before it starts: the App JWT is signed by the
// real clock and checked by the sandbox's.
type scaledClock struct {
	mu        sync.Mutex
	realStart time.Time
}

func (c *scaledClock) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.realStart = time.Now()
}

func (c *scaledClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.realStart.IsZero() {
		return time.Now().UTC()
	}
	return c.realStart.UTC().Add(time.Since(c.realStart) * episodeScale)
}

// scaledQueue passes visibility changes to SQS in real seconds (rounded up, so a
// message never returns before its simulated wait).
type scaledQueue struct{ next Queue }

func (q scaledQueue) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	scaled := *in
	scaled.VisibilityTimeout = (in.VisibilityTimeout + episodeScale - 1) / episodeScale
	return q.next.ChangeMessageVisibility(ctx, &scaled, opts...)
}

// handlerFunction invokes the processor as Lambda would, for the poller.
type handlerFunction struct {
	p *Processor

	mu       sync.Mutex
	receives map[string]int // message id -> highest ApproximateReceiveCount seen
}

func (f *handlerFunction) Invoke(ctx context.Context, payload []byte) (*lambdarie.Result, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	for _, r := range ev.Records {
		n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		f.receives[r.MessageId] = max(f.receives[r.MessageId], n)
	}
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := f.p.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(resp)
	return &lambdarie.Result{Payload: out}, err
}

// TestRateLimitEpisode runs a 20-minute (simulated) secondary rate limit of the shape
// GitHub sends (403, no Retry-After) on one installation through the real App client,
// the sandbox, dynalite, fauxqs and the local SQS poller, with the template's queue
// settings (maxReceiveCount 5). Every delivery ends processed, none reaches the
// dead-letter queue, the limited installation is asked a handful of times rather than
// in a loop, and the other installation's delivery is processed during the episode.
func TestRateLimitEpisode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 15 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clk := &scaledClock{}

	// GitHub: the sandbox on the simulated clock (tokens outlive the test), and the App
	// client on the same clock.
	sb, url := ghsandbox.NewServer(t, ghsandbox.Options{Now: clk.now, TokenTTL: 24 * time.Hour})
	gh, err := ghapp.New(ghapp.Config{AppID: sb.AppID(), PrivateKey: sb.PrivateKeyPEM(), APIURL: url, WebURL: url, Now: clk.now, MaxRetryWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	// SQS: the events queue and its DLQ as the template declares them, in real seconds.
	sqsc := standin.OwnSQS(t)
	queueARN := func(u *string) string {
		out, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes["QueueArn"]
	}
	dlq, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(uniq("events-dlq"))})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(uniq("events")), Attributes: map[string]string{
		"VisibilityTimeout": strconv.Itoa((180 + episodeScale - 1) / episodeScale),
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":5}`, queueARN(dlq.QueueUrl)),
	}})
	if err != nil {
		t.Fatal(err)
	}

	// The processor on the simulated clock, giving records back through the scaled queue.
	base := newTestEnvWith(t, func(*fakeGitHub) GitHub { return gh })
	st := store.New(standin.DynamoDB(t), base.tables).WithClock(clk.now)
	p := New(st, gh, Config{
		Log:      slog.New(slog.NewJSONHandler(base.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:  metrics.New(base.metrics, ""),
		Now:      clk.now,
		Queue:    &scaledQueue{next: sqsc},
		QueueURL: aws.ToString(q.QueueUrl),
	})

	// Three repositories of installation 1 with two pushes each, one of installation 2.
	if err := sb.AddInstallation(ghsandbox.Installation{ID: 2, Account: "other-org", AccountType: "Organization", Repos: []string{"other-org/tool"}}); err != nil {
		t.Fatal(err)
	}
	type repoEnv struct {
		e  *testEnv
		pr store.Project
	}
	var repos []repoEnv
	for i := range 4 {
		e := *base
		e.st, e.p = st, p
		e.owner, e.name, e.inst = "sandbox-org", strings.ToLower(uniq("repo")), 1
		if i == 3 {
			e.owner, e.name, e.inst = "other-org", "tool", 2
		}
		if err := sb.WriteFile(e.owner, e.name, "docs/plan.md", []byte(planV1)); err != nil {
			t.Fatal(err)
		}
		pr := e.addProject(nil)
		if _, err := p.SyncProject(ctx, pr, uniq("api")); err != nil {
			t.Fatalf("SyncProject(%s) = %v", e.repo(), err)
		}
		repos = append(repos, repoEnv{&e, pr})
	}

	clk.start()
	episodeEnd := clk.now().Add(20 * time.Minute)
	sb.SetRateLimit(1, ghsandbox.RateLimit{Shape: ghsandbox.SecondaryForbidden, Until: episodeEnd})
	sb.ResetCalls()

	var deliveries []string
	for _, r := range repos {
		pushes := 2
		if r.e.inst == 2 {
			pushes = 1
		}
		for range pushes {
			if err := sb.WriteFile(r.e.owner, r.e.name, "docs/plan.md", []byte(planV2+"\n"+uniq("x"))); err != nil {
				t.Fatal(err)
			}
			d := r.e.push("main", "docs/plan.md")
			if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(d.body)}); err != nil {
				t.Fatal(err)
			}
			deliveries = append(deliveries, d.env.DeliveryID)
		}
	}

	fn := &handlerFunction{p: p, receives: map[string]int{}}
	pl, err := poller.New(poller.Config{
		Queue: sqsc, QueueURL: aws.ToString(q.QueueUrl), QueueARN: queueARN(q.QueueUrl), Region: sqsc.Options().Region,
		Function: fn, ReportBatchItemFailures: true, WaitTime: time.Second, BatchSize: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := pl.Start(ctx)
	defer stop()

	// status reads a delivery's event log entry; empty before its first claim.
	status := func(id string) store.Event {
		var ev store.Event
		_ = base.db.Table(base.tables.Events).Get("delivery_id", id).Consistent(true).One(ctx, &ev)
		return ev
	}
	for {
		left := 0
		for _, id := range deliveries {
			if status(id).Status != store.EventProcessed {
				left++
			}
		}
		if left == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of %d deliveries not processed at %s (simulated), episode ended at %s; logs:\n%s",
				left, len(deliveries), clk.now().Format(time.TimeOnly), episodeEnd.Format(time.TimeOnly), base.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	t.Logf("all %d deliveries processed %s (simulated) after the episode began", len(deliveries), clk.now().Sub(episodeEnd.Add(-20*time.Minute)).Round(time.Second))

	if logs := base.logs.String(); strings.Contains(logs, "not deferred") || !strings.Contains(logs, "delivery deferred: GitHub rate limit") {
		t.Errorf("rate-limited deliveries were not given back through ChangeMessageVisibility; logs:\n%s", logs)
	}
	// Installation 2's delivery went through during installation 1's episode.
	if ev := status(deliveries[len(deliveries)-1]); ev.ProcessedAt == nil || !ev.ProcessedAt.Before(episodeEnd) {
		t.Errorf("installation 2's delivery processed at %v, want during the episode (before %s)", ev.ProcessedAt, episodeEnd)
	}
	// Installation 1's were processed after it, each within its five receives.
	for _, id := range deliveries[:len(deliveries)-1] {
		if ev := status(id); ev.ProcessedAt == nil || ev.ProcessedAt.Before(episodeEnd) {
			t.Errorf("delivery %s processed at %v, want after the episode", id, ev.ProcessedAt)
		}
	}
	fn.mu.Lock()
	t.Logf("receives per message: %v", fn.receives)
	for id, n := range fn.receives {
		if n > 5 {
			t.Errorf("message %s received %d times, want at most maxReceiveCount 5 (the sixth would go to the DLQ)", id, n)
		}
	}
	fn.mu.Unlock()
	// GitHub was asked a few times while limited, never in a loop.
	limited := 0
	for _, c := range sb.Calls() {
		if c.InstallationID == 1 && (c.Status == 403 || c.Status == 429) {
			limited++
		}
	}
	t.Logf("refused calls of installation 1: %d", limited)
	if limited == 0 || limited > 5 {
		t.Errorf("refused calls of installation 1 = %d, want 1 to 5 (the client waits between tries)", limited)
	}
	out, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := out.Attributes["ApproximateNumberOfMessages"]; n != "0" {
		t.Errorf("dead-letter queue holds %s messages, want 0", n)
	}
	for _, r := range repos {
		if got := r.e.project(r.pr.ID); got.LatestSnapshot == nil || got.LatestSnapshot.TasksDone != 3 {
			t.Errorf("project %s snapshot = %+v, want the last push's plan (3 done)", r.e.repo(), got.LatestSnapshot)
		}
	}
}
