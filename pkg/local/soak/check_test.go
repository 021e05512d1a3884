package soak

import (
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/plan"
	"github.com/repotrackr/github-integration/pkg/store"
)

// TestInvariants: each invariant catches the records that break it, and a duplicate
// entry (a redelivery recognised, or a send answered 5xx but queued anyway) breaks none.
func TestInvariants(t *testing.T) {
	ok := func(guid string) ghsandbox.Delivery {
		return ghsandbox.Delivery{GUID: guid, Event: "push", Status: "OK", StatusCode: 202}
	}
	failed := func(guid string) ghsandbox.Delivery {
		return ghsandbox.Delivery{GUID: guid, Event: "push", Status: "Invalid HTTP Response: 503", StatusCode: 503}
	}
	entry := func(id, status string) store.Event { return store.Event{DeliveryID: id, Status: status} }
	dup := func(id, msg string) store.Event {
		return store.Event{DeliveryID: store.DuplicateKey(id, msg), Status: store.EventDuplicate, DuplicateOf: id}
	}
	tests := []struct {
		name                      string
		attempts                  []ghsandbox.Delivery
		log                       []store.Event
		updates                   []store.Update
		done                      map[string]int
		lost, twice, failed, dups int
	}{
		{"processed once, redelivery recognised",
			[]ghsandbox.Delivery{ok("a"), ok("a")}, []store.Event{entry("a", store.EventProcessed), dup("a", "m2")},
			[]store.Update{{ProjectID: "p", DeliveryID: "a"}}, map[string]int{"a": 1}, 0, 0, 0, 1},
		{"answered 503 but queued anyway, redelivery the duplicate",
			[]ghsandbox.Delivery{ok("a"), failed("a")}, []store.Event{entry("a", store.EventIgnored), dup("a", "m2")},
			nil, map[string]int{"a": 1}, 0, 0, 0, 1},
		{"never delivered", []ghsandbox.Delivery{failed("a")}, nil, nil, nil, 1, 0, 0, 0},
		{"delivered, not in the event log", []ghsandbox.Delivery{ok("a")}, nil, nil, nil, 1, 0, 0, 0},
		{"left processing", []ghsandbox.Delivery{ok("a")}, []store.Event{entry("a", store.EventProcessing)}, nil, nil, 1, 0, 0, 0},
		{"failed", []ghsandbox.Delivery{ok("a")}, []store.Event{entry("a", store.EventFailed)}, nil, nil, 0, 0, 1, 0},
		{"done twice by the processor's log", []ghsandbox.Delivery{ok("a")}, []store.Event{entry("a", store.EventProcessed)},
			nil, map[string]int{"a": 2}, 0, 1, 0, 0},
		{"update applied twice", []ghsandbox.Delivery{ok("a")}, []store.Event{entry("a", store.EventProcessed)},
			[]store.Update{{ProjectID: "p", DeliveryID: "a", UpdateKey: "1#a"}, {ProjectID: "p", DeliveryID: "a", UpdateKey: "2#a"}},
			nil, 0, 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := invariants(guids(tc.attempts), tc.log, tc.updates, tc.done)
			if len(got.lost) != tc.lost || len(got.twice) != tc.twice || len(got.failed) != tc.failed || got.duplicates != tc.dups {
				t.Errorf("invariants() = lost %v, twice %v, failed %v, %d duplicates; want %d lost, %d twice, %d failed, %d duplicates",
					got.lost, got.twice, got.failed, got.duplicates, tc.lost, tc.twice, tc.failed, tc.dups)
			}
		})
	}
}

func TestSnapshotDiff(t *testing.T) {
	src := initialPlan(0)
	p := plan.Parse(src)
	snap := &store.Snapshot{PlanFound: true, TasksTotal: p.TasksTotal, TasksDone: p.TasksDone, Progress: p.Progress}
	for _, s := range p.Sections {
		snap.Sections = append(snap.Sections, store.Section(s))
	}
	if d := snapshotDiff(snap, p); d != "" {
		t.Errorf("snapshotDiff(snapshot of the plan) = %q, want none", d)
	}
	if d := snapshotDiff(snap, plan.Parse(flipTask(src, 3))); !strings.Contains(d, "plan") {
		t.Errorf("snapshotDiff(snapshot of an older plan) = %q, want a difference", d)
	}
	if d := snapshotDiff(nil, p); d != "no snapshot" {
		t.Errorf("snapshotDiff(nil) = %q, want no snapshot", d)
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name       string
		vis, lease time.Duration
		ok         bool
	}{
		{"defaults", 90 * time.Second, 60 * time.Second, true},
		{"template's values", 0, 0, true},
		{"lease past the visibility timeout", 30 * time.Second, 60 * time.Second, false},
		{"default lease past a short visibility timeout", 90 * time.Second, 0, false},
		{"default lease equal to the visibility timeout", 2 * time.Minute, 0, false},
		{"lease past the template's visibility timeout", 0, 4 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{Visibility: tt.vis, Lease: tt.lease}.check()
			if (err == nil) != tt.ok {
				t.Errorf("Config{Visibility: %s, Lease: %s}.check() = %v, want ok %t", tt.vis, tt.lease, err, tt.ok)
			}
		})
	}
}
