package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
)

// The package's tests share one dynalite and one set of tables (created once: table
// creation can take seconds); each test keeps apart by using its own repository names,
// project ids and delivery ids.
var (
	testDDB    *dynamodb.Client
	testTables store.Tables
	testSeq    atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if root := os.Getenv(sandboxChildEnv); root != "" {
		return runSandboxChild(root)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ddb, stop, err := standin.StartDynamoDB(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "processor tests:", err)
		return 1
	}
	defer stop()
	testDDB = ddb
	env, err := standin.CreateTables(ctx, testDDB, "proc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "processor tests: create tables:", err)
		return 1
	}
	testTables = store.TablesFrom(func(k string) string { return env[k] })
	return m.Run()
}

func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, testSeq.Add(1)) }

// testClock is a settable clock shared by the processor and the store.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects EMF lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is a processor over the shared tables, a fake GitHub and a test clock, with
// its own repository name.
type testEnv struct {
	t       *testing.T
	ctx     context.Context
	clock   *testClock
	st      *store.Store
	db      *dynamo.DB
	gh      *fakeGitHub
	p       *Processor
	metrics *syncBuffer
	logs    *syncBuffer
	owner   string // repository owner as payloads spell it
	name    string // repository name
	inst    int64
}

func newTestEnv(t *testing.T) *testEnv {
	return newTestEnvWith(t, nil)
}

// newTestEnvWith builds the env around gh (a fresh fakeGitHub when nil; a GitHub of
// another shape is wrapped by wrap).
func newTestEnvWith(t *testing.T, wrap func(*fakeGitHub) GitHub) *testEnv {
	t.Helper()
	e := &testEnv{
		t:       t,
		ctx:     context.Background(),
		clock:   &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		db:      dynamo.NewFromIface(testDDB),
		gh:      newFakeGitHub(),
		metrics: &syncBuffer{},
		logs:    &syncBuffer{},
		owner:   "Codertocat",
		name:    uniq("Hello-World"),
		inst:    1,
	}
	e.st = store.New(testDDB, testTables).WithClock(e.clock.now)
	var gh GitHub = e.gh
	if wrap != nil {
		gh = wrap(e.gh)
	}
	e.p = e.newProcessor(e.st, gh)
	return e
}

func (e *testEnv) newProcessor(st Store, gh GitHub) *Processor {
	return New(st, gh, Config{
		Log:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: metrics.New(e.metrics, ""),
		Now:     e.clock.now,
	})
}

// repo is the env's repository as payloads spell it; repoKey as the store keeps it.
func (e *testEnv) repo() string    { return e.owner + "/" + e.name }
func (e *testEnv) repoKey() string { return strings.ToLower(e.repo()) }

// addProject registers a project on the env's repository through the API's store call.
func (e *testEnv) addProject(mod func(*store.Project)) store.Project {
	e.t.Helper()
	p := store.Project{ID: uniq("proj"), Owner: uniq("user"), Repo: e.repo(), InstallationID: e.inst, PlanPath: "docs/plan.md"}
	if mod != nil {
		mod(&p)
	}
	p, err := e.st.CreateProject(e.ctx, p)
	if err != nil {
		e.t.Fatalf("CreateProject() error = %v", err)
	}
	return p
}

func (e *testEnv) project(id string) store.Project {
	e.t.Helper()
	var p store.Project
	if err := e.db.Table(testTables.Projects).Get("id", id).Consistent(true).One(e.ctx, &p); err != nil {
		e.t.Fatalf("read project %s: %v", id, err)
	}
	return p
}

func (e *testEnv) snapshots(projectID string) []store.Snapshot {
	e.t.Helper()
	var out []store.Snapshot
	if err := e.db.Table(testTables.Snapshots).Get("project_id", projectID).Consistent(true).All(e.ctx, &out); err != nil {
		e.t.Fatalf("read snapshots: %v", err)
	}
	return out
}

func (e *testEnv) updates(projectID string) []store.Update {
	e.t.Helper()
	var out []store.Update
	if err := e.db.Table(testTables.Updates).Get("project_id", projectID).Consistent(true).All(e.ctx, &out); err != nil {
		e.t.Fatalf("read updates: %v", err)
	}
	return out
}

func (e *testEnv) event(id string) store.Event {
	e.t.Helper()
	var ev store.Event
	if err := e.db.Table(testTables.Events).Get("delivery_id", id).Consistent(true).One(e.ctx, &ev); err != nil {
		e.t.Fatalf("read event %s: %v", id, err)
	}
	return ev
}

// duplicates returns the duplicate entries logged for a delivery.
func (e *testEnv) duplicates(deliveryID string) []store.Event {
	e.t.Helper()
	var out []store.Event
	err := e.db.Table(testTables.Events).Get("log_partition", store.EventLogPartition).Index(store.IndexEventsByTime).
		Filter("$ = ?", "duplicate_of", deliveryID).All(e.ctx, &out)
	if err != nil {
		e.t.Fatalf("read duplicates: %v", err)
	}
	return out
}

// handle runs one batch and returns the failed message ids.
func (e *testEnv) handle(msgs ...events.SQSMessage) []string {
	e.t.Helper()
	resp, err := e.p.Handle(e.ctx, events.SQSEvent{Records: msgs})
	if err != nil {
		e.t.Fatalf("Handle() error = %v, want nil (failures go in BatchItemFailures)", err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// mustHandle runs one batch that must not fail.
func (e *testEnv) mustHandle(msgs ...events.SQSMessage) {
	e.t.Helper()
	if failed := e.handle(msgs...); len(failed) != 0 {
		e.t.Fatalf("Handle() failed %v; logs:\n%s", failed, e.logs.String())
	}
}

// ---- payloads

// payloadDir is ../shared/github-payloads from the module root.
func payloadDir(t testing.TB) string {
	t.Helper()
	root, err := standin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "..", "shared", "github-payloads")
}

// loadPayload reads a real webhook body as a JSON object.
func loadPayload(t testing.TB, event, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(payloadDir(t), event, file))
	if err != nil {
		t.Fatalf("read payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode payload %s/%s: %v", event, file, err)
	}
	return m
}

// set assigns a value at a dotted path of a JSON object, creating objects on the way.
func set(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// onRepo points a payload at the env's repository and installation.
func (e *testEnv) onRepo(m map[string]any) map[string]any {
	set(m, "repository.full_name", e.repo())
	set(m, "repository.name", e.name)
	set(m, "installation", map[string]any{"id": e.inst})
	return m
}

// delivery is a delivery ready to queue.
type delivery struct {
	env  *envelope.Envelope
	body string
}

// build turns a payload into an envelope with the ingest code, as queued.
func (e *testEnv) build(event string, payload map[string]any) delivery {
	e.t.Helper()
	return buildDelivery(e.t, event, uniq("delivery"), payload, e.clock.now().Add(-time.Second))
}

func buildDelivery(t testing.TB, event, id string, payload map[string]any, receivedAt time.Time) delivery {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Build(event, id, raw, receivedAt)
	if err != nil {
		t.Fatalf("envelope.Build(%s) error = %v", event, err)
	}
	body, err := env.Marshal(envelope.MaxBodyBytes)
	if err != nil {
		t.Fatalf("Marshal() error = %v", err)
	}
	return delivery{env: env, body: string(body)}
}

// msg is the SQS message carrying the delivery; each call is a new message.
func (d delivery) msg() events.SQSMessage {
	return sqsMessage(uniq("msg"), d.body, d.env.DeliveryID, d.env.EventType)
}

func sqsMessage(id, body, deliveryID, eventType string) events.SQSMessage {
	return events.SQSMessage{
		MessageId: id, Body: body, EventSource: "aws:sqs",
		MessageAttributes: map[string]events.SQSMessageAttribute{
			envelope.AttrDeliveryID: {DataType: "String", StringValue: &deliveryID},
			envelope.AttrEventType:  {DataType: "String", StringValue: &eventType},
		},
	}
}

// push builds a push of branch on the env's repository changing paths, from the real
// push payload of a new branch (its commit list is rewritten to name paths).
func (e *testEnv) push(branch string, paths ...string) delivery {
	e.t.Helper()
	m := e.onRepo(loadPayload(e.t, "push", "with-new-branch.payload.json"))
	set(m, "ref", "refs/heads/"+branch)
	set(m, "repository.default_branch", "main")
	set(m, "created", false)
	set(m, "before", "6113728f27ae82c7b1a177c8d03f9e96e0adf246")
	set(m, "after", "7113728f27ae82c7b1a177c8d03f9e96e0adf247")
	commits := m["commits"].([]any)
	c := commits[0].(map[string]any)
	mod := make([]any, 0, len(paths))
	for _, p := range paths {
		mod = append(mod, p)
	}
	c["added"], c["removed"], c["modified"] = []any{}, []any{}, mod
	return e.build("push", m)
}

// metricCount sums a metric's values in the EMF lines with the EventType dimension.
func (e *testEnv) metricCount(name, eventType string) float64 {
	var sum float64
	dec := json.NewDecoder(strings.NewReader(e.metrics.String()))
	for {
		var line map[string]any
		if err := dec.Decode(&line); errors.Is(err, io.EOF) {
			return sum
		} else if err != nil {
			e.t.Fatalf("EMF line: %v", err)
		}
		if line[metrics.DimEventType] != eventType {
			continue
		}
		if v, ok := line[name].(float64); ok {
			sum += v
		}
	}
}

const planV1 = `# Roadmap

## Phase 1
- [x] set up
- [ ] build

## Phase 2
- [ ] ship
- [ ] celebrate
`

const planV2 = `# Roadmap

## Phase 1
- [x] set up
- [x] build

## Phase 2
- [x] ship
- [ ] celebrate
`

const goMod = `module example.com/app

go 1.22

require (
	github.com/google/uuid v1.6.0
	golang.org/x/sync v0.7.0 // indirect
)
`

const packageJSON = `{"dependencies": {"react": "^18.2.0"}, "devDependencies": {"vite": "5.0.0"}}`
