package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
)

// countingHTTP counts the DynamoDB requests the SDK sends, by operation.
type countingHTTP struct {
	inner dynamodb.HTTPClient
	mu    sync.Mutex
	ops   map[string]int
}

func (c *countingHTTP) Do(r *http.Request) (*http.Response, error) {
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
	return c.inner.Do(r)
}

func (c *countingHTTP) take() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ops := 0, c.ops
	for _, v := range ops {
		n += v
	}
	c.ops = map[string]int{}
	return n, ops
}

// TestStatsWeekBounded: a week of deliveries (two an hour, with 40 KB envelopes, which
// the log's index leaves out) is counted with at most 10 DynamoDB requests per call,
// whoever asks.
func TestStatsWeekBounded(t *testing.T) {
	ctx := context.Background()
	testDDB := standin.DynamoDB(t)
	tables := store.TablesFrom(standin.NewTables(t))
	end := time.Date(2026, 6, 1, 12, 20, 0, 0, time.UTC)
	clock := end
	w := store.New(testDDB, tables).WithClock(func() time.Time { return clock })
	envelope := `{"payload":"` + strings.Repeat("x", 40<<10) + `"}`
	const hours = 7 * 24
	want := map[string]int{}
	for h := range hours {
		for k := range 2 {
			id := fmt.Sprintf("w-%03d-%d", h, k)
			at := end.Add(-time.Duration(h)*time.Hour + time.Duration(k)*time.Minute)
			if h == hours-1 {
				at = end.Add(-time.Duration(h) * time.Hour).Truncate(time.Hour).Add(time.Duration(k) * time.Minute)
			}
			ev, err := w.ClaimEvent(ctx, store.EventClaim{DeliveryID: id, EventType: "push", InstallationID: int64(1 + k), ReceivedAt: at,
				Envelope: envelope, Lease: time.Minute, Retention: 30 * 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			status := store.EventProcessed
			if h%5 == 0 {
				status = store.EventFailed
				err = w.FailEvent(ctx, id, ev.Attempts, "internal", "boom")
			} else {
				err = w.CompleteEvent(ctx, id, ev.Attempts, status, "")
			}
			if err != nil {
				t.Fatal(err)
			}
			want[status]++
		}
	}
	for id := int64(1); id <= 12; id++ {
		user := "many"
		if id <= 2 {
			if _, err := w.LinkUserInstallation(ctx, store.UserInstallation{UserID: "two", InstallationID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.LinkUserInstallation(ctx, store.UserInstallation{UserID: user, InstallationID: id}); err != nil {
			t.Fatal(err)
		}
	}

	counter := &countingHTTP{ops: map[string]int{}}
	reader := dynamodb.New(testDDB.Options(), func(o *dynamodb.Options) {
		counter.inner = o.HTTPClient
		o.HTTPClient = counter
	})
	// Reading the week off the log itself, as the stats route did before the hourly
	// counts, takes a request per partition at least.
	var rows []struct {
		EventType string `dynamo:"event_type"`
	}
	partitions := map[string]bool{}
	for h := range hours {
		for k := range 2 {
			partitions[store.LogPartition(fmt.Sprintf("w-%03d-%d", h, k))] = true
		}
	}
	var err error
	for partition := range partitions {
		err = errors.Join(err, dynamo.NewFromIface(reader).Table(tables.Events).Get("log_partition", partition).Index(store.IndexEventsByTime).
			Range("received_key", dynamo.GreaterOrEqual, store.TimeKey(end.Add(-hours*time.Hour))).Project("event_type").All(ctx, &rows))
	}
	// by_time does not carry the envelopes (it holds keys, type, repository and
	// installation): the week's 13 MB of entries read as one page of each partition, not
	// as the 1 MB pages an index with every attribute would take.
	if n, _ := counter.take(); err != nil || len(rows) != 2*hours || n != len(partitions) {
		t.Fatalf("reading the log itself = %d rows in %d requests, %v; want %d rows in %d", len(rows), n, err, 2*hours, len(partitions))
	} else {
		t.Logf("reading the week off the log: %d requests", n)
	}

	h := New(store.New(reader, tables), Config{Admins: []string{"ops"}, Now: func() time.Time { return end }})
	tests := []struct {
		name   string
		sub    string
		params map[string]string
		code   int
		total  int
	}{
		{"admin, a week", "ops", map[string]string{"hours": strconv.Itoa(hours)}, http.StatusOK, 2 * hours},
		{"admin, one installation", "ops", map[string]string{"hours": strconv.Itoa(hours), "installation_id": "2"}, http.StatusOK, hours},
		{"user of both installations", "two", map[string]string{"hours": strconv.Itoa(hours)}, http.StatusOK, 2 * hours},
		{"user with 12 installations names one", "many", map[string]string{"hours": strconv.Itoa(hours), "installation_id": "1"}, http.StatusOK, hours},
		{"user with 12 installations names none", "many", map[string]string{"hours": strconv.Itoa(hours)}, http.StatusBadRequest, 0},
		{"user names another's installation", "two", map[string]string{"installation_id": "3"}, http.StatusNotFound, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter.take()
			resp, err := h.Stats(ctx, request(tt.sub, tt.params))
			n, ops := counter.take()
			if err != nil || resp.StatusCode != tt.code {
				t.Fatalf("Stats(%v) = %d %s, %v; want %d", tt.params, resp.StatusCode, resp.Body, err, tt.code)
			}
			t.Logf("Stats(%s, %v): %d DynamoDB requests %v", tt.sub, tt.params, n, ops)
			if n > 10 || (tt.code == http.StatusOK && n == 0) {
				t.Errorf("Stats(%v) sent %d DynamoDB requests %v, want at most 10", tt.params, n, ops)
			}
			if tt.code != http.StatusOK {
				return
			}
			var got Stats
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Total != tt.total || got.ByEventType["push"].Total != tt.total {
				t.Errorf("Stats(%v) total = %d, want %d (%+v)", tt.params, got.Total, tt.total, got)
			}
			if tt.total == 2*hours && (got.ByStatus[store.EventProcessed] != want[store.EventProcessed] || got.ByStatus[store.EventFailed] != want[store.EventFailed]) {
				t.Errorf("Stats(%v) by status = %v, want %v", tt.params, got.ByStatus, want)
			}
		})
	}
}
