package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// historyBase is the receipt time of the oldest fixture entry.
var historyBase = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

// historyFixture is 45 entries a minute apart with a spread of types, statuses,
// repositories and installations; entry i is received at historyBase + i minutes.
func historyFixture() []Event {
	types := []string{"push", "pull_request", "issues"}
	statuses := []string{EventProcessed, EventProcessed, EventIgnored, EventFailed, EventDuplicate}
	repos := []string{"octo/one", "octo/two", "other/three"}
	var out []Event
	for i := range 45 {
		at := historyBase.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("d%02d", i)
		processed := at.Add(2 * time.Second)
		ev := Event{
			DeliveryID: id, LogPartition: LogPartition(id), ReceivedKey: ReceivedKey(at, id),
			EventType: types[i%3], Action: "opened", Repo: repos[i%len(repos)], InstallationID: int64(1 + i%4),
			Status: statuses[i%5], ReceivedAt: at, ProcessedAt: &processed, Attempts: 1, Envelope: `{"big":"envelope"}`,
		}
		if ev.Status == EventFailed {
			ev.Error = "plan read failed"
		}
		out = append(out, ev)
	}
	return out
}

func putEvents(t *testing.T, s *Store, evs []Event) {
	t.Helper()
	items := make([]any, len(evs))
	for i := range evs {
		items[i] = evs[i]
	}
	if _, err := s.db.Table(s.tables.Events).Batch("delivery_id").Write().Put(items...).Run(context.Background()); err != nil {
		t.Fatalf("put %d events: %v", len(evs), err)
	}
}

// newestFirst returns the ids of the entries that keep passes, newest first.
func newestFirst(evs []Event, keep func(Event) bool) []string {
	var ids []string
	for i := len(evs) - 1; i >= 0; i-- {
		if keep(evs[i]) {
			ids = append(ids, evs[i].DeliveryID)
		}
	}
	return ids
}

// allPages follows the cursors and returns every id in order, failing on a page
// larger than the limit.
func allPages(t *testing.T, s *Store, q EventQuery) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("QueryEvents(%+v) did not end after 100 pages", q)
		}
		page, err := s.QueryEvents(context.Background(), q)
		if err != nil {
			t.Fatalf("QueryEvents(%+v) error = %v", q, err)
		}
		if len(page.Events) > q.Limit && q.Limit > 0 {
			t.Fatalf("QueryEvents(%+v) = %d entries, more than the limit", q, len(page.Events))
		}
		for _, ev := range page.Events {
			if ev.Envelope != "" {
				t.Errorf("QueryEvents() entry %s carries its envelope, want it left out", ev.DeliveryID)
			}
			ids = append(ids, ev.DeliveryID)
		}
		if page.NextCursor == "" {
			return ids
		}
		q.Cursor = page.NextCursor
	}
}

// TestEventHistory reads one fixture log in every way; the tables are created once, as
// creating them is the slow part.
func TestEventHistory(t *testing.T) {
	s := newTestStore(t)
	fx := historyFixture()
	putEvents(t, s, fx)
	t.Run("filters", func(t *testing.T) { testQueryEventsFilters(t, s, fx) })
	t.Run("pages", func(t *testing.T) { testQueryEventsPages(t, s) })
	t.Run("latest and counts", func(t *testing.T) { testLatestEventsAndCounts(t, s, fx) })
}

func testQueryEventsFilters(t *testing.T, s *Store, fx []Event) {
	since := historyBase.Add(30 * time.Minute)
	tests := []struct {
		name string
		q    EventQuery
		keep func(Event) bool
	}{
		{"everything", EventQuery{}, func(Event) bool { return true }},
		{"event type", EventQuery{EventType: "push"}, func(e Event) bool { return e.EventType == "push" }},
		{"rare status", EventQuery{Status: EventFailed}, func(e Event) bool { return e.Status == EventFailed }},
		{"common status", EventQuery{Status: EventProcessed}, func(e Event) bool { return e.Status == EventProcessed }},
		{"repo any case", EventQuery{Repo: "Octo/Two"}, func(e Event) bool { return e.Repo == "octo/two" }},
		{"since", EventQuery{Since: since}, func(e Event) bool { return !e.ReceivedAt.Before(since) }},
		{"repo and status", EventQuery{Repo: "octo/one", Status: EventProcessed}, func(e Event) bool { return e.Repo == "octo/one" && e.Status == EventProcessed }},
		{"type, status, since", EventQuery{EventType: "issues", Status: EventProcessed, Since: since},
			func(e Event) bool {
				return e.EventType == "issues" && e.Status == EventProcessed && !e.ReceivedAt.Before(since)
			}},
		{"type and rare status", EventQuery{EventType: "pull_request", Status: EventDuplicate}, func(e Event) bool { return e.EventType == "pull_request" && e.Status == EventDuplicate }},
		{"installations", EventQuery{Installations: []int64{2, 4}}, func(e Event) bool { return e.InstallationID == 2 || e.InstallationID == 4 }},
		{"installations and repo", EventQuery{Installations: []int64{1}, Repo: "other/three"}, func(e Event) bool { return e.InstallationID == 1 && e.Repo == "other/three" }},
		{"no installations", EventQuery{Installations: []int64{}}, func(Event) bool { return false }},
		{"nothing matches", EventQuery{EventType: "release"}, func(Event) bool { return false }},
	}
	for _, tt := range tests {
		for _, limit := range []int{3, 20, 100} {
			t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
				q := tt.q
				q.Limit = limit
				got := allPages(t, s, q)
				if want := newestFirst(fx, tt.keep); !slices.Equal(got, want) {
					t.Errorf("QueryEvents(%+v) pages = %v, want %v", tt.q, got, want)
				}
			})
		}
	}
}

func testQueryEventsPages(t *testing.T, s *Store) {
	ctx := context.Background()

	first, err := s.QueryEvents(ctx, EventQuery{})
	if err != nil {
		t.Fatalf("QueryEvents() error = %v", err)
	}
	if len(first.Events) != DefaultEventPage || first.NextCursor == "" {
		t.Fatalf("QueryEvents() = %d entries, cursor %q; want %d and a cursor", len(first.Events), first.NextCursor, DefaultEventPage)
	}
	e := first.Events[0]
	if e.DeliveryID != "d44" || e.EventType != "issues" || e.Repo != "other/three" || e.Status != EventDuplicate || !e.ReceivedAt.Equal(historyBase.Add(44*time.Minute)) {
		t.Errorf("QueryEvents() newest = %+v, want d44 with its fields", e)
	}
	// A page that ends exactly at the last entry says so: no cursor to an empty page.
	exact, err := s.QueryEvents(ctx, EventQuery{Limit: 45})
	if err != nil || len(exact.Events) != 45 || exact.NextCursor != "" {
		t.Errorf("QueryEvents(limit 45) = %d entries, cursor %q, %v; want 45 and no cursor", len(exact.Events), exact.NextCursor, err)
	}
	if _, err := s.QueryEvents(ctx, EventQuery{Limit: MaxEventPage + 1}); err == nil {
		t.Errorf("QueryEvents(limit %d) error = nil, want refused", MaxEventPage+1)
	}

	// A cursor only continues the filters it was made for.
	byType, err := s.QueryEvents(ctx, EventQuery{EventType: "push", Limit: 2})
	if err != nil || byType.NextCursor == "" {
		t.Fatalf("QueryEvents(push) = %+v, %v; want a cursor", byType, err)
	}
	bad := []struct {
		name string
		q    EventQuery
	}{
		{"garbage", EventQuery{Cursor: "%%%"}},
		{"not json", EventQuery{Cursor: base64.RawURLEncoding.EncodeToString([]byte("hello"))}},
		{"other index", EventQuery{Cursor: first.NextCursor, EventType: "push"}},
		{"other partition", EventQuery{Cursor: byType.NextCursor, EventType: "issues"}},
		{"before since", EventQuery{Cursor: first.NextCursor, Since: historyBase.Add(40 * time.Minute)}},
		{"extra key", EventQuery{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"i":"by_time","k":{"delivery_id":"a","received_key":"b","log_partition":"all","x":"y"}}`))}},
		{"empty key", EventQuery{Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"i":"by_time","k":{"delivery_id":"","received_key":"b","log_partition":"all"}}`))}},
		{"too long", EventQuery{Cursor: strings.Repeat("a", 3000)}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.QueryEvents(ctx, tt.q); !errors.Is(err, ErrBadCursor) {
				t.Errorf("QueryEvents(%s cursor) error = %v, want ErrBadCursor", tt.name, err)
			}
		})
	}
}

func TestQueryEventsSparseFilter(t *testing.T) {
	// More non-matching entries than one call reads: pages may come back short, with a
	// cursor, but following the cursors still finds every match, in order.
	// Two matches, more entries apart than one call reads (a read of every partition,
	// then maxHistoryRequests more), so the first page ends on the budget: one entry
	// and a cursor.
	s := newTestStore(t)
	var evs []Event
	n := (EventLogShards+maxHistoryRequests)*filteredReadSize + 300
	for i := range n {
		at := historyBase.Add(time.Duration(i) * time.Second)
		id := fmt.Sprintf("s%05d", i)
		inst := int64(100)
		if i == 3 || i == n-10 {
			inst = 5
		}
		evs = append(evs, Event{DeliveryID: id, LogPartition: LogPartition(id), ReceivedKey: ReceivedKey(at, id),
			EventType: "push", Status: EventProcessed, ReceivedAt: at, InstallationID: inst, Attempts: 1})
	}
	putEvents(t, s, evs)
	q := EventQuery{Installations: []int64{5}, Limit: 2}
	got := allPages(t, s, q)
	if want := newestFirst(evs, func(e Event) bool { return e.InstallationID == 5 }); !slices.Equal(got, want) {
		t.Errorf("QueryEvents(sparse) pages = %v, want %v", got, want)
	}
	first, err := s.QueryEvents(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Events) != 1 || first.NextCursor == "" {
		t.Errorf("QueryEvents(sparse) first page = %d entries, cursor %q; want 1 and a cursor (the request budget ends it)", len(first.Events), first.NextCursor)
	}
}

func testLatestEventsAndCounts(t *testing.T, s *Store, fx []Event) {
	ctx := context.Background()

	latest, err := s.LatestEvents(ctx, 3)
	if err != nil {
		t.Fatalf("LatestEvents() error = %v", err)
	}
	var ids []string
	for _, e := range latest {
		ids = append(ids, e.DeliveryID)
	}
	if !slices.Equal(ids, []string{"d44", "d43", "d42"}) {
		t.Errorf("LatestEvents(3) = %v, want [d44 d43 d42]", ids)
	}

	// CountEvents reads the hourly counts the write path keeps (eventstats_test.go);
	// entries put directly are not counted, and no installation counts nothing.
	none, err := s.CountEvents(ctx, historyBase, []int64{})
	if err != nil || none.Total != 0 {
		t.Errorf("CountEvents(no installations) = %+v, %v; want nothing", none, err)
	}
}

func TestLogPartition(t *testing.T) {
	seen := map[string]int{}
	for i := range 800 {
		id := fmt.Sprintf("%08x-cc78-11e3-81ab-%012x", i*7919, i)
		p := LogPartition(id)
		if again := LogPartition(id); again != p {
			t.Fatalf("LogPartition(%s) = %q, then %q; want the same", id, p, again)
		}
		seen[p]++
	}
	if len(seen) != EventLogShards {
		t.Errorf("LogPartition spread 800 ids over %d partitions %v, want %d", len(seen), seen, EventLogShards)
	}
	for p, n := range seen {
		if n < 800/EventLogShards/2 {
			t.Errorf("LogPartition put %d of 800 ids in %s, want about %d", n, p, 800/EventLogShards)
		}
	}
	if seen[EventLogPartition] == 0 {
		t.Errorf("LogPartition never chose %q, want it as shard 0", EventLogPartition)
	}
}

// TestQueryEventsReadsUnshardedEntries: entries written while the log had one partition
// (EventLogPartition, whatever their id) are listed in order with the sharded ones.
func TestQueryEventsReadsUnshardedEntries(t *testing.T) {
	s := newTestStore(t)
	var evs []Event
	for i := range 30 {
		at := historyBase.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("u%02d", i)
		part := LogPartition(id)
		if i < 15 {
			part = EventLogPartition
		}
		evs = append(evs, Event{DeliveryID: id, LogPartition: part, ReceivedKey: ReceivedKey(at, id),
			EventType: "push", Status: EventProcessed, ReceivedAt: at, Attempts: 1})
	}
	putEvents(t, s, evs)
	for _, limit := range []int{1, 7, 100} {
		got := allPages(t, s, EventQuery{Limit: limit})
		if want := newestFirst(evs, func(Event) bool { return true }); !slices.Equal(got, want) {
			t.Errorf("QueryEvents(limit %d) pages = %v, want %v", limit, got, want)
		}
	}
	latest, err := s.LatestEvents(context.Background(), 20)
	if err != nil || len(latest) != 20 || latest[19].DeliveryID != "u10" {
		t.Errorf("LatestEvents(20) = %d entries, %v; want u29 down to u10", len(latest), err)
	}
}

// TestEventDetails: the entries the index lists are read from the table in the index's
// order, without their envelopes; one the table no longer holds (its TTL expired after
// the index listed it) is left out.
func TestEventDetails(t *testing.T) {
	s := sharedTestStore(t)
	at := historyBase
	var evs []Event
	for _, id := range []string{"det-b", "det-a"} {
		evs = append(evs, Event{DeliveryID: id, LogPartition: LogPartition(id), ReceivedKey: ReceivedKey(at, id),
			EventType: "push", Status: EventFailed, Error: "boom", ReceivedAt: at, Attempts: 2, Envelope: `{"big":"envelope"}`})
	}
	putEvents(t, s, evs)
	listed := []Event{{DeliveryID: "det-b"}, {DeliveryID: "det-gone"}, {DeliveryID: "det-a"}}
	got, err := s.eventDetails(context.Background(), listed)
	if err != nil {
		t.Fatalf("eventDetails() error = %v", err)
	}
	if len(got) != 2 || got[0].DeliveryID != "det-b" || got[1].DeliveryID != "det-a" {
		t.Fatalf("eventDetails(b, gone, a) = %+v, want b then a", got)
	}
	if e := got[0]; e.Status != EventFailed || e.Error != "boom" || e.Attempts != 2 || e.Envelope != "" || e.ReceivedKey != evs[0].ReceivedKey {
		t.Errorf("eventDetails() entry = %+v, want its history attributes and no envelope", e)
	}
}
