package processor

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/ghapp"
)

// Requests per delivery, by event kind, as TestRequestsPerDelivery counts them on the
// SDK's and the App client's HTTP transports. They are ceilings: a change that sends
// more fails the test; one that sends fewer lowers them. pkg/processor/README.md
// ("Performance and cost") explains each and prices them. "Projects and entry" is one
// BatchGetItem: the repository's directory (the projects on it, with the branch and plan
// path a push is judged by) and the delivery's event log entry (store.ProjectsAndEntry),
// which tells a duplicate before anything is written. "Again" is a message SQS delivers
// again (ApproximateReceiveCount 2); the other duplicates are new messages bringing a
// delivery again (GitHub's redelivery). Both cost the same.
var requestLimits = map[string]requestCount{
	// Projects and entry; one write recording the ignore (store.IgnoreEvent).
	"irrelevant push": {dynamo: 2, github: 0},
	// Projects and entry (done before); the duplicate's own entry.
	"duplicate":                              {dynamo: 2, github: 0},
	"duplicate, again":                       {dynamo: 2, github: 0},
	"duplicate of an irrelevant push":        {dynamo: 2, github: 0},
	"duplicate of an irrelevant push, again": {dynamo: 2, github: 0},
	"duplicate of a pull request":            {dynamo: 2, github: 0},
	"duplicate of a pull request, again":     {dynamo: 2, github: 0},
	// Projects and entry (no project); the one-write ignore.
	"pull request, no project on the repository": {dynamo: 2, github: 0},
	// Once per repository, ever: the first delivery naming a repository that has no
	// directory yet builds it from the by_repo_id index (a query and a conditional
	// put) between the read and the ignore.
	"pull request, first on a repository": {dynamo: 4, github: 0},
	// The one-write ignore: the action changes no task (assigned).
	"issue, action changing no task": {dynamo: 1, github: 0},
	// The claim, refused with the entry (an installation event is not judged before its
	// claim, so nothing is read first); the duplicate's own entry.
	"duplicate of an installation event": {dynamo: 2, github: 0},
	// Projects and entry, claim, the whole relevant projects (one BatchGetItem: the
	// directory holds only the branch and plan path), snapshot, project (read, write),
	// update entry, completion; head, tree, plan and the two manifests.
	"relevant push": {dynamo: 8, github: 5},
	// Projects and entry, claim, project (read, write), update entry, completion.
	"pull request": {dynamo: 6, github: 0},
	"issue":        {dynamo: 6, github: 0},
	// Claim, installation (read, write), projects by repository and by installation
	// (their indexes hold the repository and installation compared), project read (the
	// status decided on it), completion; the installation and its repositories from GitHub.
	"installation": {dynamo: 7, github: 2},
	// As a relevant push, reading only the changed plan: the manifests' blob SHAs are
	// those the last snapshot parsed (head, tree, plan).
	"relevant push, plan only": {dynamo: 8, github: 3},
	// The second of two quick pushes, whose commit the first one's delivery read already:
	// head and tree answered 304 (not counted against the rate limit), no file fetched.
	"relevant push, head already read": {dynamo: 8, github: 0, notModified: 2},
}

// statsWritesPerBatch is the most event stats writes a batch sends, whatever its size:
// the whole log's item and the installation's, for the hour (store.WithBatchedStats).
const statsWritesPerBatch = 2

// requestCount counts a delivery's requests: github those GitHub counts against the
// installation's rate limit, notModified the conditional ones it answered 304 (which it
// does not count).
type requestCount struct{ dynamo, github, notModified int }

// countingTransport counts the requests it carries, by operation.
type countingTransport struct {
	next  http.RoundTripper
	op    func(*http.Request, []byte) string
	mu    sync.Mutex
	count map[string]int
	// capacity, when set, asks DynamoDB for the capacity each request consumes and
	// adds it up by operation: the price model's request units.
	capacity map[string]float64
}

// withCapacity asks for ReturnConsumedCapacity TOTAL on a DynamoDB request. dynalite
// checks no signature, so the body may change after signing. It counts the table's
// units only: writes to the events table's two indexes (projection ALL) cost as much
// again each, which the README's price model adds.
func withCapacity(r *http.Request, body []byte) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	if _, ok := m["ReturnConsumedCapacity"]; ok {
		return body
	}
	m["ReturnConsumedCapacity"] = "TOTAL"
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	r.ContentLength = int64(len(b))
	return b
}

// readBody returns r's body and puts an unread copy back for the next transport.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if body != nil && c.capacity != nil {
		r.Body = io.NopCloser(bytes.NewReader(withCapacity(r, body)))
	}
	resp, err := c.next.RoundTrip(r)
	op := c.op(r, body)
	units := 0.0
	if err == nil && c.capacity != nil {
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		var out struct {
			ConsumedCapacity json.RawMessage
		}
		_ = json.Unmarshal(b, &out)
		units = capacityUnits(out.ConsumedCapacity)
	}
	if err == nil && resp.StatusCode == http.StatusNotModified {
		op += " (304)"
	}
	c.mu.Lock()
	c.count[op]++
	if c.capacity != nil {
		c.capacity[op] += units
	}
	c.mu.Unlock()
	return resp, err
}

// capacityUnits adds up a response's ConsumedCapacity: one table's, or a list of
// tables' (BatchGetItem, BatchWriteItem).
func capacityUnits(raw json.RawMessage) float64 {
	type capacity struct{ CapacityUnits float64 }
	var one capacity
	if json.Unmarshal(raw, &one) == nil {
		return one.CapacityUnits
	}
	var list []capacity
	_ = json.Unmarshal(raw, &list)
	n := 0.0
	for _, c := range list {
		n += c.CapacityUnits
	}
	return n
}

// take returns the counts since the last take and starts again.
func (c *countingTransport) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.count
	c.count = map[string]int{}
	return out
}

// takeCapacity returns the units consumed since the last call, by operation.
func (c *countingTransport) takeCapacity() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.capacity
	c.capacity = map[string]float64{}
	return out
}

// dynamoOp names a DynamoDB request "<Operation> <table>" (a batch's first table).
func dynamoOp(r *http.Request, body []byte) string {
	var in struct {
		TableName    string
		RequestItems map[string]json.RawMessage
	}
	_ = json.Unmarshal(body, &in)
	for name := range in.RequestItems {
		if in.TableName == "" || name < in.TableName {
			in.TableName = name
		}
	}
	op := r.Header.Get("X-Amz-Target")
	return op[strings.LastIndex(op, ".")+1:] + " " + in.TableName
}

// githubOp names a GitHub request by method and route, ids and paths left out.
func githubOp(r *http.Request, _ []byte) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) > 4 && parts[0] == "repos" {
		parts = parts[3:4] // repos/{owner}/{repo}/<kind>/...
	} else if len(parts) > 2 {
		parts = parts[:2]
	}
	return r.Method + " " + strings.Join(parts, "/")
}

func sum(m map[string]int, keep func(string) bool) int {
	n := 0
	for k, v := range m {
		if keep(k) {
			n += v
		}
	}
	return n
}

func TestRequestsPerDelivery(t *testing.T) {
	ghCount := &countingTransport{next: http.DefaultTransport, op: githubOp, count: map[string]int{}}
	e, sb, client := sandboxEnvWith(t, func(c *ghapp.Config) { c.HTTPClient.Transport = ghCount })
	ownTables(t, e)
	dbCount := &countingTransport{next: http.DefaultTransport, op: dynamoOp, count: map[string]int{}, capacity: map[string]float64{}}
	e.p = e.newProcessor(storeThrough(t, e, dbCount).WithBatchedStats(), client)
	write := seedPlanProject(t, e, sb)
	write("docs/plan.md", planV2)
	write("go.mod", goMod+"require example.com/more v1.0.0\n")
	write("services/web/package.json", `{"dependencies": {"react": "^18.3.0"}}`)

	relevant := e.push("main", "docs/plan.md", "go.mod", "services/web/package.json")
	relevantMsg := relevant.msg()
	// again is m as SQS delivers it a second time.
	again := func(m events.SQSMessage) events.SQSMessage {
		m.Attributes = map[string]string{"ApproximateReceiveCount": "2"}
		return m
	}

	// untracked is a new pull request delivery on untrackedRepo, which no project tracks.
	untrackedRepo := uniq("untracked")
	untracked := func() delivery {
		m := e.onRepo(loadPayload(t, "pull_request", "opened.payload.json"))
		set(m, "repository.full_name", e.owner+"/"+untrackedRepo)
		set(m, "repository.id", nameRepoID(untrackedRepo))
		return e.build("pull_request", m)
	}

	inst := loadPayload(t, "installation", "created.payload.json")
	set(inst, "installation.id", e.inst)
	set(inst, "repositories", []any{map[string]any{"full_name": e.repo(), "name": e.name}})
	kinds := []struct {
		name string
		msg  func() events.SQSMessage
	}{
		{"relevant push", func() events.SQSMessage { return relevantMsg }},
		{"irrelevant push", func() events.SQSMessage { return e.push("main", "README.md").msg() }},
		{"duplicate", relevant.msg},
		{"duplicate, again", func() events.SQSMessage { return again(relevantMsg) }},
		{"duplicate of an irrelevant push", func() events.SQSMessage {
			d := e.push("main", "LICENSE")
			e.mustHandle(d.msg())
			return d.msg()
		}},
		{"duplicate of an irrelevant push, again", func() events.SQSMessage {
			m := e.push("main", "LICENSE").msg()
			e.mustHandle(m)
			return again(m)
		}},
		{"pull request", func() events.SQSMessage {
			return e.build("pull_request", e.onRepo(loadPayload(t, "pull_request", "opened.payload.json"))).msg()
		}},
		{"duplicate of a pull request", func() events.SQSMessage {
			// A later state of the pull request, so that the project changes again.
			d := e.build("pull_request", e.onRepo(loadPayload(t, "pull_request", "closed.payload.json")))
			e.mustHandle(d.msg())
			return d.msg()
		}},
		{"duplicate of a pull request, again", func() events.SQSMessage {
			m := e.build("pull_request", e.onRepo(loadPayload(t, "pull_request", "reopened.payload.json"))).msg()
			e.mustHandle(m)
			return again(m)
		}},
		{"pull request, no project on the repository", func() events.SQSMessage {
			e.mustHandle(untracked().msg()) // the repository's first delivery builds its directory
			return untracked().msg()
		}},
		{"pull request, first on a repository", func() events.SQSMessage {
			untrackedRepo = uniq("untracked")
			return untracked().msg()
		}},
		{"issue", func() events.SQSMessage {
			return e.build("issues", e.onRepo(loadPayload(t, "issues", "opened.payload.json"))).msg()
		}},
		{"issue, action changing no task", func() events.SQSMessage {
			return e.build("issues", e.onRepo(loadPayload(t, "issues", "assigned.payload.json"))).msg()
		}},
		{"installation", func() events.SQSMessage { return e.build("installation", inst).msg() }},
		{"relevant push, plan only", func() events.SQSMessage {
			write("docs/plan.md", planV1)
			return e.push("main", "docs/plan.md").msg()
		}},
		{"relevant push, head already read", func() events.SQSMessage {
			write("docs/plan.md", planV2)
			first := e.push("main", "docs/plan.md")
			write("docs/plan.md", planV2+"\n- [ ] one more\n")
			second := e.push("main", "docs/plan.md")
			e.mustHandle(first.msg()) // reads the second push's commit
			return second.msg()
		}},
		{"duplicate of an installation event", func() events.SQSMessage {
			d := e.build("installation", inst)
			e.mustHandle(d.msg())
			return d.msg()
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			m := k.msg()
			dbCount.take()
			dbCount.takeCapacity()
			ghCount.take()
			e.clock.Advance(time.Millisecond)
			e.mustHandle(m)
			db, gh := dbCount.take(), ghCount.take()
			isStats := func(op string) bool { return strings.HasSuffix(op, " "+e.tables.EventStats) }
			got := requestCount{
				dynamo:      sum(db, func(op string) bool { return !isStats(op) }),
				github:      sum(gh, func(op string) bool { return !strings.HasSuffix(op, "(304)") }),
				notModified: sum(gh, func(op string) bool { return strings.HasSuffix(op, "(304)") }),
			}
			stats := sum(db, isStats)
			var rru, wru, swru float64
			for op, u := range dbCount.takeCapacity() {
				switch {
				case isStats(op):
					swru += u
				case strings.HasPrefix(op, "GetItem") || strings.HasPrefix(op, "BatchGetItem") || strings.HasPrefix(op, "Query"):
					rru += u
				default:
					wru += u
				}
			}
			t.Logf("%s: %d DynamoDB (%.1f read, %.1f write units; +%d stats writes, %.1f units, per batch), %d GitHub; DynamoDB %v; GitHub %v",
				k.name, got.dynamo, rru, wru, stats, swru, got.github, db, gh)
			limit, ok := requestLimits[k.name]
			if !ok {
				t.Fatalf("no limit for %s", k.name)
			}
			if got.dynamo > limit.dynamo || got.github > limit.github {
				t.Errorf("requests(%s) = %d DynamoDB, %d GitHub; want at most %d, %d", k.name, got.dynamo, got.github, limit.dynamo, limit.github)
			}
			if got.notModified > limit.notModified {
				t.Errorf("requests(%s) = %d GitHub answered 304, want at most %d", k.name, got.notModified, limit.notModified)
			}
			if stats > statsWritesPerBatch {
				t.Errorf("event stats writes = %d, want at most %d per batch", stats, statsWritesPerBatch)
			}
		})
	}
}
