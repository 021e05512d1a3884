package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// The price model's figures that TestRequestsPerDelivery cannot give: the index write
// units of the events and projects tables (dynalite reports the table's units only) and
// the log bytes a delivery writes. pkg/processor/README.md ("Price per million deliveries") prices
// them; TestWriteUnitsAndLogBytes measures them and fails when one grows.

// priceLimits are the measured ceilings per kind of delivery, one delivery a batch.
var priceLimits = map[string]struct {
	indexWRU         float64 // events table index write units
	projectsIndexWRU float64 // projects table index write units
	logBytes         int     // processor log and EMF bytes, CloudWatch's 26 bytes an event included
}{
	"irrelevant push":                 {indexWRU: 1, logBytes: 1024},
	"duplicate":                       {indexWRU: 1, logBytes: 1024},
	"duplicate of an irrelevant push": {indexWRU: 1, logBytes: 1024},
	"relevant push":                   {indexWRU: 1, logBytes: 2304},
	"pull request":                    {indexWRU: 1, logBytes: 1024},
	"issue":                           {indexWRU: 1, logBytes: 1024},
	"installation":                    {indexWRU: 1, logBytes: 2048},
}

// cloudWatchEventOverhead is what CloudWatch Logs counts for each log event beyond its
// message (PutLogEvents' batch size: the UTF-8 message plus 26 bytes).
const cloudWatchEventOverhead = 26

// gsi is one global secondary index as write units see it.
type gsi struct {
	name       string
	keys       []string // the index's key attributes
	projection ddbtypes.ProjectionType
	include    []string
}

// beforeSharding is the events table's indexes before this model: four, each
// projecting every attribute (the queued envelope included).
var beforeSharding = []gsi{
	{name: "by_time", keys: []string{"log_partition", "received_key"}, projection: ddbtypes.ProjectionTypeAll},
	{name: "by_repo", keys: []string{"repo", "received_key"}, projection: ddbtypes.ProjectionTypeAll},
	{name: "by_type", keys: []string{"event_type", "received_key"}, projection: ddbtypes.ProjectionTypeAll},
	{name: "by_status", keys: []string{"status", "received_key"}, projection: ddbtypes.ProjectionTypeAll},
}

// projectsBefore is the projects table's indexes before this model: four, each
// projecting every attribute, so that every project write was copied into each.
var projectsBefore = []gsi{
	{name: "by_installation", keys: []string{"installation_id"}, projection: ddbtypes.ProjectionTypeAll},
	{name: "by_repo", keys: []string{"repo"}, projection: ddbtypes.ProjectionTypeAll},
	{name: "by_repo_id", keys: []string{"repo_id"}, projection: ddbtypes.ProjectionTypeAll},
	{name: "by_owner", keys: []string{"owner", "created_at"}, projection: ddbtypes.ProjectionTypeAll},
}

// itemSize is an item's size as DynamoDB bills it: each attribute's name and value
// (strings and binaries by length, numbers about one byte per two digits plus one,
// lists and maps 3 bytes plus their elements and one byte each).
func itemSize(item map[string]ddbtypes.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v ddbtypes.AttributeValue) int {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		digits := len(strings.Trim(strings.TrimLeft(v.Value, "-"), "0."))
		return (digits+1)/2 + 1
	case *ddbtypes.AttributeValueMemberB:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL, *ddbtypes.AttributeValueMemberNULL:
		return 1
	case *ddbtypes.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *ddbtypes.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += valueSize(e) + 1
		}
		return n
	case *ddbtypes.AttributeValueMemberM:
		return 3 + itemSize(v.Value) + len(v.Value)
	}
	return 0
}

func writeUnits(size int) float64 { return math.Max(1, math.Ceil(float64(size)/1024)) }

// project is the index entry of item: nil when the item lacks one of the index's keys.
func (g gsi) project(item map[string]ddbtypes.AttributeValue, tableKey string) map[string]ddbtypes.AttributeValue {
	for _, k := range g.keys {
		if item[k] == nil {
			return nil
		}
	}
	if g.projection == ddbtypes.ProjectionTypeAll {
		return item
	}
	out := map[string]ddbtypes.AttributeValue{tableKey: item[tableKey]}
	for _, k := range append(append([]string{}, g.keys...), g.include...) {
		if item[k] != nil {
			out[k] = item[k]
		}
	}
	return out
}

// indexWriteUnits is what one table write from old to new costs in the index, as
// DynamoDB documents it: a new entry is a put, a gone one a delete, a changed key a
// delete and a put, a changed projected attribute a put, nothing changed nothing.
func (g gsi) indexWriteUnits(old, new map[string]ddbtypes.AttributeValue, tableKey string) float64 {
	o, n := g.project(old, tableKey), g.project(new, tableKey)
	switch {
	case o == nil && n == nil:
		return 0
	case o == nil:
		return writeUnits(itemSize(n))
	case n == nil:
		return writeUnits(itemSize(o))
	}
	for _, k := range g.keys {
		if !attrEqual(o[k], n[k]) {
			return writeUnits(itemSize(o)) + writeUnits(itemSize(n))
		}
	}
	if len(o) != len(n) {
		return writeUnits(itemSize(n))
	}
	for k := range n {
		if !attrEqual(o[k], n[k]) {
			return writeUnits(itemSize(n))
		}
	}
	return 0
}

func attrEqual(a, b ddbtypes.AttributeValue) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb) && (a == nil) == (b == nil)
}

// tableShape is a table's key and indexes, as the stand-in made them from template.yaml.
type tableShape struct {
	keys    []string
	indexes []gsi
}

// unitsTransport reads each item before and after every write to it (through a client
// of its own) and adds up the write units of the table and of its indexes, by table;
// for the events and projects tables also those of their four indexes of before.
type unitsTransport struct {
	next     http.RoundTripper
	raw      *dynamodb.Client
	events   string
	projects string
	mu       sync.Mutex
	shapes   map[string]tableShape
	table    map[string]float64 // by table name
	index    map[string]float64 // by table name; "before" and "projects before" for the old indexes
}

func (u *unitsTransport) shape(ctx context.Context, table string) (tableShape, error) {
	u.mu.Lock()
	sh, ok := u.shapes[table]
	u.mu.Unlock()
	if ok {
		return sh, nil
	}
	out, err := u.raw.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return sh, err
	}
	for _, k := range out.Table.KeySchema {
		sh.keys = append(sh.keys, aws.ToString(k.AttributeName))
	}
	for _, d := range out.Table.GlobalSecondaryIndexes {
		g := gsi{name: aws.ToString(d.IndexName), projection: d.Projection.ProjectionType, include: d.Projection.NonKeyAttributes}
		for _, k := range d.KeySchema {
			g.keys = append(g.keys, aws.ToString(k.AttributeName))
		}
		sh.indexes = append(sh.indexes, g)
	}
	u.mu.Lock()
	u.shapes[table] = sh
	u.mu.Unlock()
	return sh, nil
}

func (u *unitsTransport) get(ctx context.Context, table string, key map[string]ddbtypes.AttributeValue) (map[string]ddbtypes.AttributeValue, error) {
	out, err := u.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// attrValue turns a key attribute of a request's JSON into the SDK's type (keys are
// strings or numbers).
func attrValue(v map[string]any) ddbtypes.AttributeValue {
	if s, ok := v["S"].(string); ok {
		return &ddbtypes.AttributeValueMemberS{Value: s}
	}
	if n, ok := v["N"].(string); ok {
		return &ddbtypes.AttributeValueMemberN{Value: n}
	}
	return nil
}

func (u *unitsTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	if r.Body == nil || (op != "PutItem" && op != "UpdateItem" && op != "DeleteItem") {
		return u.next.RoundTrip(r)
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		TableName string
		Key, Item map[string]map[string]any
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	sh, err := u.shape(r.Context(), in.TableName)
	if err != nil {
		return nil, err
	}
	key := map[string]ddbtypes.AttributeValue{}
	for _, k := range sh.keys {
		v := in.Key[k]
		if v == nil {
			v = in.Item[k]
		}
		key[k] = attrValue(v)
	}
	old, err := u.get(r.Context(), in.TableName, key)
	if err != nil {
		return nil, err
	}
	resp, err := u.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if resp.StatusCode != http.StatusOK {
		// A refused conditional write is charged on the table, as the item's size.
		if bytes.Contains(b, []byte("ConditionalCheckFailed")) {
			u.mu.Lock()
			u.table[in.TableName] += writeUnits(itemSize(old))
			u.mu.Unlock()
		}
		return resp, nil
	}
	new, err := u.get(r.Context(), in.TableName, key)
	if err != nil {
		return nil, err
	}
	tableKey := sh.keys[0]
	u.mu.Lock()
	defer u.mu.Unlock()
	u.table[in.TableName] += writeUnits(max(itemSize(old), itemSize(new)))
	for _, g := range sh.indexes {
		u.index[in.TableName] += g.indexWriteUnits(old, new, tableKey)
	}
	if in.TableName == u.events {
		for _, g := range beforeSharding {
			u.index["before"] += g.indexWriteUnits(old, new, tableKey)
		}
	}
	if in.TableName == u.projects {
		for _, g := range projectsBefore {
			u.index["projects before"] += g.indexWriteUnits(old, new, tableKey)
		}
	}
	return resp, nil
}

func (u *unitsTransport) take() (table, index map[string]float64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	table, index = u.table, u.index
	u.table, u.index = map[string]float64{}, map[string]float64{}
	return table, index
}

// TestWriteUnitsAndLogBytes sends one delivery of each kind, one a batch, through the
// processor as production wires it (JSON log at INFO, EMF lines in the default
// namespace, the App client logging too) and reports the events table's write units,
// its indexes' (the template's and, for comparison, the four of before), the stats
// writes and the log bytes.
func TestWriteUnitsAndLogBytes(t *testing.T) {
	var out testkit.LogBuffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	emf := metrics.New(&out, "RepoTrackr/GitHub")
	e, sb, client := sandboxEnvWith(t, func(c *ghapp.Config) { c.Log, c.Metrics = log, emf })
	ownTables(t, e)
	units := &unitsTransport{next: http.DefaultTransport, raw: standin.DynamoDB(t), events: e.tables.Events, projects: e.tables.Projects,
		shapes: map[string]tableShape{}, table: map[string]float64{}, index: map[string]float64{}}
	dbCount := &countingTransport{next: units, op: dynamoOp, count: map[string]int{}, capacity: map[string]float64{}}
	counted := storeThrough(t, e, dbCount).WithLogger(log).WithBatchedStats()
	e.p = New(counted, client, Config{Log: log, Metrics: emf, Now: e.clock.Now})
	write := seedPlanProject(t, e, sb)
	write("docs/plan.md", planV2)

	relevant := e.push("main", "docs/plan.md")
	inst := loadPayload(t, "installation", "created.payload.json")
	set(inst, "installation.id", e.inst)
	set(inst, "repositories", []any{map[string]any{"full_name": e.repo(), "name": e.name}})
	kinds := []struct {
		name string
		msg  func() events.SQSMessage
	}{
		{"relevant push", relevant.msg},
		{"irrelevant push", func() events.SQSMessage { return e.push("main", "README.md").msg() }},
		{"duplicate", relevant.msg},
		{"duplicate of an irrelevant push", func() events.SQSMessage {
			d := e.push("main", "LICENSE")
			e.mustHandle(d.msg())
			return d.msg()
		}},
		{"pull request", func() events.SQSMessage {
			return e.build("pull_request", e.onRepo(loadPayload(t, "pull_request", "opened.payload.json"))).msg()
		}},
		{"issue", func() events.SQSMessage {
			return e.build("issues", e.onRepo(loadPayload(t, "issues", "opened.payload.json"))).msg()
		}},
		{"installation", func() events.SQSMessage { return e.build("installation", inst).msg() }},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			m := k.msg()
			units.take()
			dbCount.takeCapacity()
			before := len(out.String())
			e.clock.Advance(time.Millisecond)
			e.mustHandle(m)
			written := out.String()[before:]
			lines := strings.Count(written, "\n")
			logBytes := len(written) + lines*cloudWatchEventOverhead
			table, index := units.take()
			var rru float64
			for op, n := range dbCount.takeCapacity() {
				if strings.HasPrefix(op, "GetItem") || strings.HasPrefix(op, "BatchGetItem") || strings.HasPrefix(op, "Query") {
					rru += n
				}
			}
			var others []string
			for name, n := range table {
				if name != e.tables.Events && name != e.tables.EventStats {
					others = append(others, fmt.Sprintf("%s %.0f + index %.0f", tableLabel(e.tables, name), n, index[name]))
				}
			}
			if _, ok := table[e.tables.Projects]; ok {
				others = append(others, fmt.Sprintf("projects' four indexes before: %.0f", index["projects before"]))
			}
			slices.Sort(others)
			t.Logf("%s: events %.0f WRU + index %.0f (four indexes before: %.0f); other tables %v; stats %.0f WRU a batch; %.1f RRU; log %d bytes in %d lines",
				k.name, table[e.tables.Events], index[e.tables.Events], index["before"], others,
				table[e.tables.EventStats], rru, logBytes, lines)
			limit := priceLimits[k.name]
			if got := index[e.tables.Events]; got > limit.indexWRU {
				t.Errorf("events index write units(%s) = %.0f, want at most %.0f", k.name, got, limit.indexWRU)
			}
			if got := index[e.tables.Projects]; got > limit.projectsIndexWRU {
				t.Errorf("projects index write units(%s) = %.0f, want at most %.0f", k.name, got, limit.projectsIndexWRU)
			}
			if logBytes > limit.logBytes {
				t.Errorf("log bytes(%s) = %d, want at most %d:\n%s", k.name, logBytes, limit.logBytes, written)
			}
		})
	}
}

// tableLabel names a table of the test's by its role.
func tableLabel(tb store.Tables, name string) string {
	switch name {
	case tb.Projects:
		return "projects"
	case tb.Snapshots:
		return "snapshots"
	case tb.Updates:
		return "updates"
	case tb.Installations:
		return "installations"
	}
	return name
}
