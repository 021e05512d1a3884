package history

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
)

// The handlers run against dynalite with the tables of template.yaml, filled through the
// store's own write path (the processor's claim/complete/fail calls).

var (
	// filled is the store over the package's tables, filled once by fill; fixture is
	// what fill wrote.
	filled struct {
		once  sync.Once
		store *store.Store
		err   error
	}
	fixture []fixtureEvent
)

// base is the receipt time of the oldest fixture delivery.
var base = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

// now is two hours after base, when the handlers run.
var now = base.Add(2 * time.Hour)

type fixtureEvent struct {
	id, typ, status, repo string
	installation          int64
	at                    time.Time
}

func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }

// testStore returns the store over the tables of template.yaml in the shared dynalite,
// filled by fill on first use.
func testStore(t *testing.T) *store.Store {
	t.Helper()
	ddb := standin.DynamoDB(t)
	tables := store.TablesFrom(standin.SharedTables(t, "hist-"))
	filled.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		filled.store = store.New(ddb, tables)
		filled.err = fill(ctx, filled.store)
	})
	if filled.err != nil {
		t.Fatalf("fill the event log: %v", filled.err)
	}
	return filled.store
}

// fill writes 30 deliveries a few minutes apart: push, issues and pull_request events of
// three repositories in installations 1 to 3, processed, ignored, failed or duplicate;
// and links user-a to installation 1 and user-b to installations 2 and 3.
func fill(ctx context.Context, s *store.Store) error {
	types := []string{"push", "issues", "pull_request"}
	repos := []string{"Octo/Alpha", "octo/beta", "acme/gamma"}
	for i := range 30 {
		at := base.Add(time.Duration(i) * 3 * time.Minute)
		f := fixtureEvent{id: fmt.Sprintf("del-%02d", i), typ: types[i%3], repo: strings.ToLower(repos[i%3]), installation: int64(1 + i%3), at: at}
		claim := store.EventClaim{DeliveryID: f.id, EventType: f.typ, Action: "edited", Repo: repos[i%3], InstallationID: f.installation,
			ReceivedAt: at, Envelope: `{}`, Lease: time.Minute, Retention: 24 * time.Hour}
		ev, err := s.ClaimEvent(ctx, claim)
		if err != nil {
			return err
		}
		switch {
		case i%7 == 3:
			f.status = store.EventFailed
			err = s.FailEvent(ctx, f.id, ev.Attempts, "github_unavailable", "GET /repos/acme/gamma/contents: 502 with token ghs_secret")
		case i%5 == 4:
			f.status = store.EventIgnored
			err = s.CompleteEvent(ctx, f.id, ev.Attempts, store.EventIgnored, "plan not touched")
		default:
			f.status = store.EventProcessed
			err = s.CompleteEvent(ctx, f.id, ev.Attempts, store.EventProcessed, "")
		}
		if err != nil {
			return err
		}
		fixture = append(fixture, f)
	}
	dup := store.DuplicateEvent{DeliveryID: "del-00", MessageID: "msg-9", EventType: "push", Repo: "Octo/Alpha", InstallationID: 1, ReceivedAt: base.Add(100 * time.Minute)}
	if err := s.PutDuplicateEvent(ctx, dup); err != nil {
		return err
	}
	fixture = append(fixture, fixtureEvent{id: store.DuplicateKey("del-00", "msg-9"), typ: "push", status: store.EventDuplicate, repo: "octo/alpha", installation: 1, at: dup.ReceivedAt})
	for user, ids := range map[string][]int64{"user-a": {1}, "user-b": {2, 3}} {
		for _, id := range ids {
			if _, err := s.LinkUserInstallation(ctx, store.UserInstallation{UserID: user, InstallationID: id}); err != nil {
				return err
			}
		}
	}
	return nil
}

func request(sub string, params map[string]string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{RawPath: RouteEvents, QueryStringParameters: params}
	if sub != "" {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": sub}},
		}
	}
	return req
}

func newHandler(t *testing.T) *Handler {
	t.Helper()
	return New(testStore(t), Config{Admins: []string{"ops-1", "ops-2"}, Now: func() time.Time { return now }})
}

// expected is the fixture ids keep passes, newest first.
func expected(keep func(fixtureEvent) bool) []string {
	fs := slices.Clone(fixture)
	slices.SortFunc(fs, func(a, b fixtureEvent) int { return b.at.Compare(a.at) })
	var ids []string
	for _, f := range fs {
		if keep(f) {
			ids = append(ids, f.id)
		}
	}
	return ids
}

// pages follows next_cursor through every page and returns the ids in order.
func pages(t *testing.T, h *Handler, sub string, params map[string]string) []string {
	t.Helper()
	var ids []string
	params = maps(params)
	for range 50 {
		resp, err := h.Events(context.Background(), request(sub, params))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("Events(%v) = %d %s, %v", params, resp.StatusCode, resp.Body, err)
		}
		var p struct {
			Events     []map[string]any `json:"events"`
			NextCursor *string          `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			ids = append(ids, e["delivery_id"].(string))
		}
		if p.NextCursor == nil {
			return ids
		}
		params["cursor"] = *p.NextCursor
	}
	t.Fatalf("Events(%v) did not end after 50 pages", params)
	return nil
}

func maps(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestEventsFiltersAndPages(t *testing.T) {
	h := newHandler(t)
	since := base.Add(45 * time.Minute)
	all := func(fixtureEvent) bool { return true }
	tests := []struct {
		name   string
		sub    string
		params map[string]string
		keep   func(fixtureEvent) bool
	}{
		{"admin, everything", "ops-1", nil, all},
		{"admin, pages of 4", "ops-2", map[string]string{"limit": "4"}, all},
		{"event type", "ops-1", map[string]string{"event_type": "issues", "limit": "3"}, func(f fixtureEvent) bool { return f.typ == "issues" }},
		{"status failed", "ops-1", map[string]string{"status": "failed", "limit": "2"}, func(f fixtureEvent) bool { return f.status == store.EventFailed }},
		{"status processed", "ops-1", map[string]string{"status": "processed", "limit": "5"}, func(f fixtureEvent) bool { return f.status == store.EventProcessed }},
		{"repo in any case", "ops-1", map[string]string{"repo": "OCTO/Beta", "limit": "3"}, func(f fixtureEvent) bool { return f.repo == "octo/beta" }},
		{"since", "ops-1", map[string]string{"since": since.Format(time.RFC3339), "limit": "5"}, func(f fixtureEvent) bool { return !f.at.Before(since) }},
		{"type, status and since", "ops-1", map[string]string{"event_type": "push", "status": "processed", "since": since.Format(time.RFC3339), "limit": "2"},
			func(f fixtureEvent) bool {
				return f.typ == "push" && f.status == store.EventProcessed && !f.at.Before(since)
			}},
		{"duplicates", "ops-1", map[string]string{"status": "duplicate"}, func(f fixtureEvent) bool { return f.status == store.EventDuplicate }},
		{"user sees their installation", "user-a", map[string]string{"limit": "4"}, func(f fixtureEvent) bool { return f.installation == 1 }},
		{"user with two installations, filtered", "user-b", map[string]string{"event_type": "pull_request", "limit": "2"},
			func(f fixtureEvent) bool { return f.typ == "pull_request" && f.installation != 1 }},
		{"user without installations", "user-c", nil, func(fixtureEvent) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pages(t, h, tt.sub, tt.params)
			if want := expected(tt.keep); !slices.Equal(got, want) {
				t.Errorf("Events(%s, %v) = %v, want %v", tt.sub, tt.params, got, want)
			}
		})
	}
}

func TestEventsEntry(t *testing.T) {
	resp, _ := newHandler(t).Events(context.Background(), request("ops-1", map[string]string{"status": "failed", "limit": "1"}))
	var p struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || len(p.Events) != 1 {
		t.Fatalf("Events(failed, 1) = %s, %v", resp.Body, err)
	}
	e := p.Events[0]
	for _, field := range []string{"delivery_id", "event_type", "action", "repository", "installation_id", "status", "received_at", "processed_at", "attempts", "error"} {
		if _, ok := e[field]; !ok {
			t.Errorf("entry lacks %s: %v", field, e)
		}
	}
	if e["delivery_id"] != "del-24" || e["repository"] != "octo/alpha" || e["status"] != "failed" || e["action"] != "edited" || e["attempts"] != 1.0 {
		t.Errorf("entry = %v, want del-24 of octo/alpha, failed once", e)
	}
	if _, leaked := e["envelope"]; leaked {
		t.Errorf("entry carries the envelope: %v", e)
	}
}

func TestEventsRefusals(t *testing.T) {
	h := newHandler(t)
	first, _ := h.Events(context.Background(), request("ops-1", map[string]string{"limit": "2"}))
	var p Page
	_ = json.Unmarshal([]byte(first.Body), &p)
	tests := []struct {
		name   string
		sub    string
		params map[string]string
		want   int
		reason string
	}{
		{"no caller", "", nil, http.StatusUnauthorized, "authentication required"},
		{"limit too large", "ops-1", map[string]string{"limit": "101"}, http.StatusBadRequest, "limit must be an integer from 1 to 100"},
		{"limit zero", "ops-1", map[string]string{"limit": "0"}, http.StatusBadRequest, "limit must be an integer from 1 to 100"},
		{"limit not a number", "ops-1", map[string]string{"limit": "ten"}, http.StatusBadRequest, "limit must be an integer from 1 to 100"},
		{"bad since", "ops-1", map[string]string{"since": "yesterday"}, http.StatusBadRequest, "since must be an RFC 3339 time such as 2026-03-10T12:00:00Z"},
		{"bad status", "ops-1", map[string]string{"status": "done"}, http.StatusBadRequest, "status must be one of queued, processing, processed, ignored, duplicate, failed"},
		{"bad event type", "ops-1", map[string]string{"event_type": "Push;drop"}, http.StatusBadRequest, "event_type must be a GitHub event name such as push or pull_request"},
		{"bad repo", "ops-1", map[string]string{"repo": "no-slash"}, http.StatusBadRequest, "repo must be owner/name"},
		{"garbage cursor", "ops-1", map[string]string{"cursor": "!!"}, http.StatusBadRequest, "invalid cursor"},
		{"cursor of other filters", "ops-1", map[string]string{"cursor": p.NextCursor, "event_type": "push"}, http.StatusBadRequest, "invalid cursor"},
		{"cursor before since", "ops-1", map[string]string{"cursor": p.NextCursor, "since": now.Format(time.RFC3339)}, http.StatusBadRequest, "invalid cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.Events(context.Background(), request(tt.sub, tt.params))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(map[string]string{"error": tt.reason})
			if resp.StatusCode != tt.want || resp.Body != string(want) {
				t.Errorf("Events(%v) = %d %s, want %d %s", tt.params, resp.StatusCode, resp.Body, tt.want, want)
			}
		})
	}
}

func TestStats(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		name  string
		sub   string
		hours string
		keep  func(fixtureEvent) bool
	}{
		{"default 24 hours", "ops-1", "", func(fixtureEvent) bool { return true }},
		{"last hour", "ops-1", "1", func(f fixtureEvent) bool { return !f.at.Before(now.Add(-time.Hour)) }},
		{"a user's installations", "user-b", "24", func(f fixtureEvent) bool { return f.installation != 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]string{}
			if tt.hours != "" {
				params["hours"] = tt.hours
			}
			resp, err := h.Stats(context.Background(), request(tt.sub, params))
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("Stats() = %d %s, %v", resp.StatusCode, resp.Body, err)
			}
			var got Stats
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			want := Stats{ByStatus: map[string]int{}, ByEventType: map[string]TypeCounts{}}
			for _, f := range fixture {
				if !tt.keep(f) {
					continue
				}
				want.Total++
				want.ByStatus[f.status]++
				tc := want.ByEventType[f.typ]
				if tc.ByStatus == nil {
					tc.ByStatus = map[string]int{}
				}
				tc.Total++
				tc.ByStatus[f.status]++
				want.ByEventType[f.typ] = tc
			}
			if got.Total != want.Total || fmt.Sprint(got.ByStatus) != fmt.Sprint(want.ByStatus) || fmt.Sprint(got.ByEventType) != fmt.Sprint(want.ByEventType) {
				t.Errorf("Stats() = %+v, want %+v", got, want)
			}
		})
	}
	for _, bad := range []string{"0", "169", "x"} {
		resp, _ := h.Stats(context.Background(), request("ops-1", map[string]string{"hours": bad}))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Stats(hours=%s) = %d, want 400", bad, resp.StatusCode)
		}
	}
	if resp, _ := h.Stats(context.Background(), request("", nil)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Stats() without a caller = %d, want 401", resp.StatusCode)
	}
}

func TestServeRoutes(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		path string
		want int
		key  string
	}{
		{RouteEvents, http.StatusOK, `"events":`},
		{RouteEvents + "/", http.StatusOK, `"events":`},
		{RouteStats, http.StatusOK, `"by_event_type":`},
		{"/webhooks/github/other", http.StatusNotFound, `"error":"not found"`},
	}
	for _, tt := range tests {
		req := request("ops-1", nil)
		req.RawPath = tt.path
		resp, err := h.Serve(context.Background(), req)
		if err != nil || resp.StatusCode != tt.want || !strings.Contains(resp.Body, tt.key) {
			t.Errorf("Serve(%s) = %d %s, %v; want %d with %s", tt.path, resp.StatusCode, resp.Body, err, tt.want, tt.key)
		}
	}
}

// TestEventsErrorDetailForAdminsOnly: a failure's detail (here naming an endpoint and
// a token) reaches operators only; a user linked to the installation sees its stable
// reason code.
func TestEventsErrorDetailForAdminsOnly(t *testing.T) {
	h := newHandler(t)
	failed := func(sub string) []map[string]any {
		t.Helper()
		resp, err := h.Events(context.Background(), request(sub, map[string]string{"status": "failed"}))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("Events(%s, failed) = %d %s, %v", sub, resp.StatusCode, resp.Body, err)
		}
		var p struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || len(p.Events) == 0 {
			t.Fatalf("Events(%s, failed) = %s, %v; want failures", sub, resp.Body, err)
		}
		if sub != "ops-1" && (strings.Contains(resp.Body, "ghs_secret") || strings.Contains(resp.Body, "contents: 502") || strings.Contains(resp.Body, "/repos/")) {
			t.Errorf("Events(%s) body leaks the detail: %s", sub, resp.Body)
		}
		return p.Events
	}
	for _, e := range failed("ops-1") {
		if e["error_code"] != "github_unavailable" || !strings.Contains(e["error"].(string), "contents: 502") {
			t.Errorf("admin entry %v: error %q, code %v; want the detail and github_unavailable", e["delivery_id"], e["error"], e["error_code"])
		}
	}
	for _, sub := range []string{"user-a", "user-b"} {
		for _, e := range failed(sub) {
			if e["error"] != "github_unavailable" || e["error_code"] != "github_unavailable" {
				t.Errorf("%s entry %v: error %q, code %v; want github_unavailable in both", sub, e["delivery_id"], e["error"], e["error_code"])
			}
		}
	}
}

func TestRedactError(t *testing.T) {
	tests := []struct {
		name      string
		in        store.Event
		wantError string
		wantCode  string
	}{
		{"coded", store.Event{Error: "operation error DynamoDB: PutItem: 500", ErrorCode: "internal"}, "internal", "internal"},
		{"logged before codes", store.Event{Error: "github GET /repos/a/b: 502"}, "internal", "internal"},
		{"no failure", store.Event{Status: store.EventProcessed}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.in
			redactError(&ev)
			if ev.Error != tt.wantError || ev.ErrorCode != tt.wantCode {
				t.Errorf("redactError(%+v) = error %q code %q, want %q %q", tt.in, ev.Error, ev.ErrorCode, tt.wantError, tt.wantCode)
			}
		})
	}
}
