package processor

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// uniq numbers what the tests create: the package's tests share one set of tables
// (created once: table creation can take seconds), and each test keeps apart by using its
// own repository names, project ids and delivery ids.
var uniq = testkit.Unique

// testEnv is a processor over the shared tables, a fake GitHub and a test clock, with
// its own repository name.
type testEnv struct {
	t       *testing.T
	ctx     context.Context
	clock   *testkit.Clock
	st      *store.Store
	db      *dynamo.DB
	tables  store.Tables
	gh      *fakeGitHub
	p       *Processor
	metrics *testkit.LogBuffer
	logs    *testkit.LogBuffer
	owner   string // repository owner as payloads spell it
	name    string // repository name
	inst    int64
	// repoID is the repository id payloads carry; 0: one derived from the name, so
	// that tests sharing the tables never share a repository id (deliveries find
	// projects by it).
	repoID int64
}

func newTestEnv(t *testing.T) *testEnv {
	return newTestEnvWith(t, nil)
}

// newTestEnvWith builds the env around gh (a fresh fakeGitHub when nil; a GitHub of
// another shape is wrapped by wrap).
func newTestEnvWith(t *testing.T, wrap func(*fakeGitHub) GitHub) *testEnv {
	t.Helper()
	ddb := standin.DynamoDB(t)
	e := &testEnv{
		t:       t,
		ctx:     context.Background(),
		clock:   testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		db:      dynamo.NewFromIface(ddb),
		tables:  store.TablesFrom(standin.SharedTables(t, "proc-")),
		gh:      newFakeGitHub(),
		metrics: &testkit.LogBuffer{},
		logs:    &testkit.LogBuffer{},
		owner:   "Codertocat",
		name:    uniq("Hello-World"),
		inst:    1,
	}
	e.st = store.New(ddb, e.tables).WithClock(e.clock.Now)
	var gh GitHub = e.gh
	if wrap != nil {
		gh = wrap(e.gh)
	}
	e.p = e.newProcessor(e.st, gh)
	return e
}

func (e *testEnv) newProcessor(st Store, gh GitHub) *Processor {
	return New(st, gh, Config{
		Log:     e.logs.Logger(),
		Metrics: metrics.New(e.metrics, ""),
		Now:     e.clock.Now,
	})
}

// repo is the env's repository as payloads spell it; repoKey as the store keeps it.
func (e *testEnv) repo() string    { return e.owner + "/" + e.name }
func (e *testEnv) repoKey() string { return strings.ToLower(e.repo()) }

// addProject registers a project on the env's repository through the API's store call.
func (e *testEnv) addProject(mod func(*store.Project)) store.Project {
	e.t.Helper()
	p := store.Project{ID: uniq("proj"), Owner: uniq("user"), Repo: e.repo(), RepoID: e.githubRepoID(), InstallationID: e.inst, PlanPath: "docs/plan.md"}
	if mod != nil {
		mod(&p)
	}
	p, err := e.st.CreateProject(e.ctx, p)
	if err != nil {
		e.t.Fatalf("CreateProject() error = %v", err)
	}
	return p
}

// read returns the items of table whose key is value, read consistently.
func read[T any](e *testEnv, table, key string, value any) []T {
	e.t.Helper()
	var out []T
	if err := e.db.Table(table).Get(key, value).Consistent(true).All(e.ctx, &out); err != nil {
		e.t.Fatalf("read %s %s=%v: %v", table, key, value, err)
	}
	return out
}

// one returns the only item of table whose key is value.
func one[T any](e *testEnv, table, key string, value any) T {
	e.t.Helper()
	items := read[T](e, table, key, value)
	if len(items) != 1 {
		e.t.Fatalf("read %s %s=%v: %d items, want 1", table, key, value, len(items))
	}
	return items[0]
}

func (e *testEnv) project(id string) store.Project {
	e.t.Helper()
	return one[store.Project](e, e.tables.Projects, "id", id)
}

func (e *testEnv) snapshots(projectID string) []store.Snapshot {
	e.t.Helper()
	return read[store.Snapshot](e, e.tables.Snapshots, "project_id", projectID)
}

func (e *testEnv) updates(projectID string) []store.Update {
	e.t.Helper()
	return read[store.Update](e, e.tables.Updates, "project_id", projectID)
}

func (e *testEnv) event(id string) store.Event {
	e.t.Helper()
	return one[store.Event](e, e.tables.Events, "delivery_id", id)
}

// duplicates returns the duplicate entries logged for a delivery.
func (e *testEnv) duplicates(deliveryID string) []store.Event {
	e.t.Helper()
	var out []store.Event
	err := e.db.Table(e.tables.Events).Scan().Filter("$ = ?", "duplicate_of", deliveryID).All(e.ctx, &out)
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

// mustFail runs m alone and checks that it is reported failed, to come back; why says
// why it should fail.
func (e *testEnv) mustFail(m events.SQSMessage, why string) {
	e.t.Helper()
	if failed := e.handle(m); !slices.Equal(failed, []string{m.MessageId}) {
		e.t.Fatalf("failed = %v, want [%s]: %s", failed, m.MessageId, why)
	}
}

// mustFailLogged handles m, the message of d, wants it failed, and wants d's event log
// entry failed with an error that contains errPart.
func (e *testEnv) mustFailLogged(d delivery, m events.SQSMessage, errPart, why string) {
	e.t.Helper()
	e.mustFail(m, why)
	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventFailed || !strings.Contains(ev.Error, errPart) {
		e.t.Errorf("event = %s %q, want failed with an error containing %q", ev.Status, ev.Error, errPart)
	}
}

// ---- payloads

// loadPayload reads a real webhook body as a JSON object.
func loadPayload(t testing.TB, event, file string) map[string]any {
	t.Helper()
	return testkit.PayloadObject(t, event+"/"+file)
}

// set assigns a value at a dotted path of a JSON object, creating objects on the way.
func set(m map[string]any, path string, v any) { testkit.Object(m).Set(path, v) }

// onRepo points a payload at the env's repository and installation.
func (e *testEnv) onRepo(m map[string]any) map[string]any {
	set(m, "repository.full_name", e.repo())
	set(m, "repository.name", e.name)
	set(m, "repository.id", e.githubRepoID())
	set(m, "installation", map[string]any{"id": e.inst})
	return m
}

// githubRepoID is the repository id the env's payloads carry.
func (e *testEnv) githubRepoID() int64 {
	if e.repoID != 0 {
		return e.repoID
	}
	return nameRepoID(e.name)
}

// nameRepoID is a repository id derived from its name: tests sharing the tables never
// share one.
func nameRepoID(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64()>>24) + 1
}

// delivery is a delivery ready to queue.
type delivery struct {
	env  *envelope.Envelope
	body string
}

// build turns a payload into an envelope with the ingest code, as queued.
func (e *testEnv) build(event string, payload map[string]any) delivery {
	e.t.Helper()
	return buildDelivery(e.t, event, uniq("delivery"), payload, e.clock.Now().Add(-time.Second))
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
