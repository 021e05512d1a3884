package store

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

// Reading the webhook event log: the delivery history and its newest entries. Every read
// is a Query on the events table's one index, by_time, newest first, then a BatchGetItem
// of the entries handed out; nothing here scans.
//
// by_time is the log's only index, and it holds only what never changes once an entry is
// written (its keys, event type, repository and installation): every index an entry is in
// costs a write unit on each write that changes what it holds, so an entry costs one index
// write, at its first write, and none when its status changes. The filters on those
// attributes are filter expressions on the index, with a bounded number of requests a
// page; the rest of an entry (status, times, error) is read from the table by key, and
// the status filter is applied to what is read. Reads cost a fifth of writes and this
// route is rare (pkg/processor/README.md, "Price per million deliveries").
//
// Its partition key is one of EventLogShards values, chosen by the entry's own key
// (LogPartition), because one partition takes about 1,000 writes a second and a constant
// key made that the whole log's limit; a read queries every partition and merges them.

// Page sizes of QueryEvents.
const (
	DefaultEventPage = 20
	MaxEventPage     = 100
)

// EventLogShards is the number of by_time partitions the log is spread over. It may be
// raised (entries already written stay in the partitions a read queries), never lowered.
const EventLogShards = 8

// LogPartition is the by_time partition of the entry keyed id: shard 0 is
// EventLogPartition, the log's single partition before it was sharded, so entries
// written then are read with the rest; shard k is EventLogPartition + "#k".
func LogPartition(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id)) // a hash.Hash never fails to write
	return logPartition(int(h.Sum32() % EventLogShards))
}

func logPartition(shard int) string {
	if shard == 0 {
		return EventLogPartition
	}
	return EventLogPartition + "#" + strconv.Itoa(shard)
}

// EventQuery selects entries of the event log. Empty fields do not filter.
type EventQuery struct {
	EventType string
	Status    string
	Repo      string // owner/name, any case (the log keeps it lower case)
	// Since keeps entries received at or after it.
	Since time.Time
	// Installations, when not nil, keeps only entries of these installations (an empty,
	// non-nil slice keeps nothing).
	Installations []int64
	// Limit is the page size, 1..MaxEventPage (0 means DefaultEventPage).
	Limit int
	// Cursor continues from the page that returned it.
	Cursor string
}

// EventPage is one page of the event log, newest first.
type EventPage struct {
	Events []Event
	// NextCursor continues the listing; empty when there is nothing more.
	NextCursor string
}

// indexAttrs are what by_time holds (template.yaml): keys, and the attributes an entry
// never changes after its first write.
var indexAttrs = []string{"delivery_id", "log_partition", "received_key", "event_type", "repo", "installation_id"}

// historyAttrs are the attributes a history entry needs: everything but the queued
// envelope, which can be large and is never shown.
var historyAttrs = []string{
	"delivery_id", "log_partition", "received_key", "event_type", "action", "repo", "installation_id",
	"status", "reason", "received_at", "started_at", "processed_at", "attempts", "error", "error_code", "duplicate_of",
}

// Limits of one QueryEvents call: reads after the first read of every partition, and
// index entries read per Query when a filter may drop most of them. A page that reaches
// the budget ends early with a cursor, so a sparse filter costs the caller more pages,
// never an unbounded call.
const (
	maxHistoryRequests = 10
	filteredReadSize   = 200
)

// QueryEvents returns one page of the event log, newest first. A cursor that is not one
// QueryEvents made for the same filters is ErrBadCursor.
func (s *Store) QueryEvents(ctx context.Context, q EventQuery) (EventPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultEventPage
	}
	if limit < 1 || limit > MaxEventPage {
		return EventPage{}, fmt.Errorf("query events: limit %d outside 1..%d", limit, MaxEventPage)
	}
	filters := filterPrint(q)
	below, err := decodeHistoryCursor(q.Cursor, filters, q.Since)
	if err != nil {
		return EventPage{}, err
	}
	if q.Installations != nil && len(q.Installations) == 0 {
		return EventPage{Events: []Event{}}, nil
	}
	evs, next, err := s.readLog(ctx, q, below, limit, maxHistoryRequests)
	if err != nil {
		return EventPage{}, fmt.Errorf("query events: %w", err)
	}
	page := EventPage{Events: evs}
	if next != "" {
		page.NextCursor = encodeHistoryCursor(filters, next)
	}
	return page, nil
}

// LatestEvents returns the n newest entries of the event log, without their envelopes.
func (s *Store) LatestEvents(ctx context.Context, n int) ([]Event, error) {
	if n < 1 {
		return nil, fmt.Errorf("latest events: n must be positive, got %d", n)
	}
	evs, _, err := s.readLog(ctx, EventQuery{}, "", n, 0)
	if err != nil {
		return nil, fmt.Errorf("latest events: %w", err)
	}
	return evs, nil
}

// logShard is one by_time partition as a read goes down it.
type logShard struct {
	partition string
	esk       dynamo.PagingKey
	// lowest is the received_key of the last entry read (matched by the filters or not):
	// every entry of the partition above it has been read.
	lowest string
	done   bool
	// found are the matches read; complete entries when the query filters by status,
	// else the index's part of them, completed once the page is known.
	found []Event
}

// readLog returns up to limit entries matching q, newest first, received strictly before
// below when it is not empty, and where the next page starts ("" at the end of the log).
func (s *Store) readLog(ctx context.Context, q EventQuery, below string, limit, extra int) ([]Event, string, error) {
	evs, next, err := s.mergeLog(ctx, q, below, limit, extra)
	if err != nil || q.Status != "" {
		return evs, next, err
	}
	evs, err = s.eventDetails(ctx, evs)
	return evs, next, err
}

// mergeLog is readLog, leaving the entries as the index holds them when q has no status
// filter. It reads every partition once, at the same time, then goes on down the
// partition that holds the merge back, at most extra reads more (a Query, and with a
// status filter the BatchGetItem of what it found). An entry is handed out only when it
// is at or above every open partition's lowest key: no partition can still hold a newer
// match.
func (s *Store) mergeLog(ctx context.Context, q EventQuery, below string, limit, extra int) ([]Event, string, error) {
	filtered := q.EventType != "" || q.Status != "" || q.Repo != "" || q.Installations != nil
	size := limit + 1 // one item more than the page, so that the last page says it is the last
	if filtered {
		size = max(size, filteredReadSize)
	}
	shards := make([]*logShard, EventLogShards)
	errs := make([]error, EventLogShards)
	var wg sync.WaitGroup
	for i := range shards {
		shards[i] = &logShard{partition: logPartition(i)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.readShard(ctx, q, below, shards[i], size)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, "", err
		}
	}
	for reads := 0; ; reads++ {
		// holdBack: the open partition read least far down (its lowest key the highest).
		var holdBack *logShard
		for _, sh := range shards {
			if !sh.done && (holdBack == nil || sh.lowest > holdBack.lowest) {
				holdBack = sh
			}
		}
		var ready []Event
		for _, sh := range shards {
			for _, ev := range sh.found {
				if holdBack == nil || ev.ReceivedKey >= holdBack.lowest {
					ready = append(ready, ev)
				}
			}
		}
		slices.SortFunc(ready, func(a, b Event) int { return cmp.Compare(b.ReceivedKey, a.ReceivedKey) })
		switch {
		case len(ready) > limit:
			return ready[:limit], ready[limit-1].ReceivedKey, nil
		case holdBack == nil:
			return ready, "", nil
		case reads >= extra:
			// The budget is spent: what was found is a page, and the next one starts
			// below holdBack's lowest key, which every partition has been read down to.
			return ready, holdBack.lowest, nil
		}
		if err := s.readShard(ctx, q, below, holdBack, size); err != nil {
			return nil, "", err
		}
	}
}

// readShard reads the next size entries of one partition, keeping the matches.
func (s *Store) readShard(ctx context.Context, q EventQuery, below string, sh *logShard, size int) error {
	qq := s.db.Table(s.tables.Events).Get("log_partition", sh.partition).Index(IndexEventsByTime).
		Order(dynamo.Descending).Project(indexAttrs...).SearchLimit(size)
	switch {
	case below != "" && !q.Since.IsZero():
		// BETWEEN includes below itself, which the previous page handed out: dropped below.
		qq.Range("received_key", dynamo.Between, TimeKey(q.Since), below)
	case below != "":
		qq.Range("received_key", dynamo.Less, below)
	case !q.Since.IsZero():
		qq.Range("received_key", dynamo.GreaterOrEqual, TimeKey(q.Since))
	}
	if q.EventType != "" {
		qq.Filter("$ = ?", "event_type", q.EventType)
	}
	if q.Repo != "" {
		qq.Filter("$ = ?", "repo", strings.ToLower(q.Repo))
	}
	if q.Installations != nil {
		expr, args := installationFilter(q.Installations)
		qq.Filter(expr, args...)
	}
	if sh.esk != nil {
		qq.StartFrom(sh.esk)
	}
	var page []Event
	lek, err := qq.AllWithLastEvaluatedKey(ctx, &page)
	if err != nil {
		return fmt.Errorf("read %s partition %s: %w", IndexEventsByTime, sh.partition, err)
	}
	page = slices.DeleteFunc(page, func(ev Event) bool { return below != "" && ev.ReceivedKey >= below })
	if q.Status != "" {
		// The status is not in the index: read the entries, keep those in that status.
		if page, err = s.eventDetails(ctx, page); err != nil {
			return fmt.Errorf("read %s partition %s: %w", IndexEventsByTime, sh.partition, err)
		}
		page = slices.DeleteFunc(page, func(ev Event) bool { return ev.Status != q.Status })
	}
	sh.found = append(sh.found, page...)
	if lek == nil {
		sh.done = true
		return nil
	}
	rk, ok := lek["received_key"].(*types.AttributeValueMemberS)
	if !ok || rk.Value == "" {
		return fmt.Errorf("read %s partition %s: last key has no received_key", IndexEventsByTime, sh.partition)
	}
	sh.esk, sh.lowest = lek, rk.Value
	return nil
}

// eventDetails reads the entries of evs from the table (their history attributes), in
// the same order. An entry gone since the index listed it (its TTL expired) is left out.
func (s *Store) eventDetails(ctx context.Context, evs []Event) ([]Event, error) {
	if len(evs) == 0 {
		return evs, nil
	}
	keys := make([]dynamo.Keyed, len(evs))
	for i, ev := range evs {
		keys[i] = dynamo.Keys{ev.DeliveryID}
	}
	var got []Event
	err := s.db.Table(s.tables.Events).Batch("delivery_id").Get(keys...).Project(historyAttrs...).All(ctx, &got)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("read %d entries: %w", len(evs), err)
	}
	byID := make(map[string]Event, len(got))
	for _, ev := range got {
		byID[ev.DeliveryID] = ev
	}
	out := evs[:0]
	for _, ev := range evs {
		if full, ok := byID[ev.DeliveryID]; ok {
			out = append(out, full)
		}
	}
	return out, nil
}

// installationFilter is "installation_id IN (…)", in groups of 100 (DynamoDB's limit
// for IN) joined by OR.
func installationFilter(ids []int64) (string, []any) {
	var groups []string
	var args []any
	for i := 0; i < len(ids); i += 100 {
		chunk := ids[i:min(i+100, len(ids))]
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		groups = append(groups, "$ IN ("+marks+")")
		args = append(args, "installation_id")
		for _, id := range chunk {
			args = append(args, id)
		}
	}
	return "(" + strings.Join(groups, " OR ") + ")", args
}

// historyCursor is the JSON inside an opaque cursor: the filters it was made for (a
// hash of them) and the received_key the next page starts strictly below.
type historyCursor struct {
	Filters string `json:"f"`
	Below   string `json:"b"`
}

// filterPrint identifies a query's filters, so that a cursor only continues the listing
// it came from. The installations are the caller's, not the query's, and are left out.
func filterPrint(q EventQuery) string {
	h := fnv.New64a()
	for _, f := range []string{q.EventType, q.Status, strings.ToLower(q.Repo)} {
		h.Write([]byte(f)) // a hash.Hash never fails to write
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

func encodeHistoryCursor(filters, below string) string {
	b, _ := json.Marshal(historyCursor{Filters: filters, Below: below}) // two strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxHistoryCursor bounds the cursor text: a received_key of at most a few hundred bytes.
const maxHistoryCursor = 2048

// decodeHistoryCursor checks that the cursor was made for the same filters and lies
// inside the time range (a bound under since would make DynamoDB refuse the BETWEEN, and
// the caller deserves a 400), and returns the key the page starts below.
func decodeHistoryCursor(s, filters string, since time.Time) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > maxHistoryCursor {
		return "", fmt.Errorf("%w: too long", ErrBadCursor)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	var c historyCursor
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Below == "" {
		return "", fmt.Errorf("%w: not a cursor", ErrBadCursor)
	}
	if c.Filters != filters {
		return "", fmt.Errorf("%w: made for other filters", ErrBadCursor)
	}
	if !since.IsZero() && c.Below < TimeKey(since) {
		return "", fmt.Errorf("%w: before since", ErrBadCursor)
	}
	return c.Below, nil
}
