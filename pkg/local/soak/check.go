package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/plan"
	"github.com/repotrackr/github-integration/pkg/store"
)

// guids groups the sandbox's attempts by delivery (GUID).
func guids(attempts []ghsandbox.Delivery) map[string][]ghsandbox.Delivery {
	out := map[string][]ghsandbox.Delivery{}
	for _, a := range attempts {
		out[a.GUID] = append(out[a.GUID], a)
	}
	return out
}

// delivered reports whether one of a delivery's attempts was answered 2xx.
func delivered(attempts []ghsandbox.Delivery) bool {
	for _, a := range attempts {
		if a.Status == "OK" {
			return true
		}
	}
	return false
}

// drain waits until the sandbox has a successful attempt of every delivery (the
// redeliver job's work), the events queue is empty and every delivery's event log entry
// is final, or DrainTimeout passes. It returns whether it drained and how long it took.
func (r *run) drain(ctx context.Context) (bool, time.Duration) {
	start := time.Now()
	deadline := start.Add(r.cfg.DrainTimeout)
	var said time.Time
	for ctx.Err() == nil && time.Now().Before(deadline) {
		state := r.drainState(ctx)
		if state == "" {
			return true, time.Since(start)
		}
		if time.Since(said) >= 15*time.Second {
			fmt.Fprintf(r.cfg.Progress, "soak: %s waiting: %s\n", time.Since(start).Round(time.Second), state)
			said = time.Now()
		}
		_ = r.sleep(ctx, 2*time.Second)
	}
	return false, time.Since(start)
}

// drainState says what the drain still waits for, or "" when it is done.
func (r *run) drainState(ctx context.Context) string {
	byGUID := guids(r.stack.Sandbox.Deliveries())
	undelivered := 0
	for _, as := range byGUID {
		if !delivered(as) {
			undelivered++
		}
	}
	if undelivered > 0 {
		return fmt.Sprintf("%d deliveries with no successful attempt yet (the redeliver job runs every %s)", undelivered, r.cfg.RedeliverEvery)
	}
	depth, err := r.stack.QueueDepth(ctx, "EventsQueue")
	if err != nil {
		return "queue depth: " + err.Error()
	}
	if depth > 0 {
		return fmt.Sprintf("%d messages in the events queue", depth)
	}
	events, err := r.events(ctx)
	if err != nil {
		return "event log: " + err.Error()
	}
	pending := 0
	for guid := range byGUID {
		e, ok := events[guid]
		if !ok || e.Status == store.EventQueued || e.Status == store.EventProcessing {
			pending++
		}
	}
	if pending > 0 {
		return fmt.Sprintf("%d deliveries not final in the event log", pending)
	}
	return ""
}

// events reads the event log's entries (not the duplicates) by delivery id.
func (r *run) events(ctx context.Context) (map[string]store.Event, error) {
	all, err := r.eventLog(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]store.Event{}
	for _, e := range all {
		if e.Status != store.EventDuplicate {
			out[e.DeliveryID] = e
		}
	}
	return out, nil
}

func (r *run) eventLog(ctx context.Context) ([]store.Event, error) {
	var all []store.Event
	err := dynamo.NewFromIface(r.stack.DynamoDB).Table(r.stack.Info.Resources.Tables["EventsTable"]).Scan().Consistent(true).All(ctx, &all)
	return all, err
}

// Report is what a soak run found.
type Report struct {
	Seed      uint64
	Took      time.Duration // the traffic, faults included
	Drained   bool
	DrainTime time.Duration
	Dir       string // kept run directory (logs), when kept

	Deliveries     int            // distinct GUIDs the sandbox sent
	ByEvent        map[string]int // deliveries by event type
	Changes        map[string]int // changes the senders made, by kind
	Attempts       int            // every attempt the sandbox recorded (sends)
	FailedAttempts int            // attempts not answered 2xx
	Redeliveries   int            // redeliveries the run requested (same GUID)
	RedeliveryErrs int            // redelivery requests the sandbox refused
	JobRecovered   int            // deliveries whose first attempts failed, delivered by the redeliver job
	QueuedAnyway   int            // of those, queued by a send answered 5xx (their redelivery was the duplicate)
	Duplicates     int            // event log entries with status duplicate
	Faults         []Fault

	Lost       []string // deliveries with no final event log entry, or no successful attempt
	Twice      []string // deliveries done more than once, and how it shows
	Failed     []string // deliveries whose entry says failed
	DLQDepth   int
	Unknown    int      // event log entries of no delivery the sandbox sent
	Mismatched []string // projects whose snapshot is not their plan
	Projects   int
}

// Failures lists the invariants the run broke; none means it passed.
func (rep *Report) Failures() []string {
	var out []string
	add := func(ok bool, format string, args ...any) {
		if !ok {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	add(rep.Drained, "the pipeline did not drain within the timeout")
	add(len(rep.Lost) == 0, "%d deliveries lost: %s", len(rep.Lost), head(rep.Lost))
	add(len(rep.Twice) == 0, "%d deliveries done twice: %s", len(rep.Twice), head(rep.Twice))
	add(len(rep.Failed) == 0, "%d deliveries failed: %s", len(rep.Failed), head(rep.Failed))
	add(rep.DLQDepth == 0, "%d messages in the dead-letter queue", rep.DLQDepth)
	add(len(rep.Mismatched) == 0, "%d projects whose snapshot is not their plan: %s", len(rep.Mismatched), head(rep.Mismatched))
	add(len(rep.Faults) == 5 && !rep.faultMissing(), "not every fault was injected")
	return out
}

func (rep *Report) faultMissing() bool {
	for _, f := range rep.Faults {
		if strings.Contains(f.Detail, "not injected") {
			return true
		}
	}
	return false
}

func head(list []string) string {
	if len(list) > 5 {
		return strings.Join(list[:5], "; ") + "; …"
	}
	return strings.Join(list, "; ")
}

// String is the report as `make soak` prints it.
func (rep *Report) String() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	verdict := "PASS"
	if len(rep.Failures()) > 0 {
		verdict = "FAIL"
	}
	p("soak report (seed %d): %s", rep.Seed, verdict)
	p("  deliveries           %d  (%s)", rep.Deliveries, counts(rep.ByEvent))
	p("  changes made         %s", counts(rep.Changes))
	p("  sends                %d attempts: %d failed, %d redeliveries requested (%d refused)", rep.Attempts, rep.FailedAttempts, rep.Redeliveries, rep.RedeliveryErrs)
	p("  recovered by the job %d deliveries that failed at first (%d of them queued anyway by a send answered 5xx)", rep.JobRecovered, rep.QueuedAnyway)
	p("  duplicates recognised %d", rep.Duplicates)
	p("  faults injected      %d", len(rep.Faults))
	for _, f := range rep.Faults {
		p("    %s", f)
	}
	p("  lost                 %d", len(rep.Lost))
	p("  done twice           %d", len(rep.Twice))
	p("  failed               %d", len(rep.Failed))
	p("  DLQ depth            %d", rep.DLQDepth)
	p("  traffic              %s", rep.Took.Round(time.Second))
	p("  time to drain        %s (drained: %t)", rep.DrainTime.Round(time.Second), rep.Drained)
	p("  snapshots = plans    %t (%d projects)", len(rep.Mismatched) == 0, rep.Projects)
	if rep.Unknown > 0 {
		p("  event log entries of no sandbox delivery: %d", rep.Unknown)
	}
	for _, f := range rep.Failures() {
		p("  FAILED: %s", f)
	}
	if rep.Dir != "" {
		p("  logs kept in %s", rep.Dir)
	}
	return b.String()
}

func counts(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// check reads what the pipeline did and holds it to the invariants.
func (r *run) check(ctx context.Context, t trafficResult) (*Report, error) {
	rep := &Report{Seed: r.cfg.Seed, Took: t.took, Changes: t.ops, Redeliveries: t.redeliveries, RedeliveryErrs: t.redeliveryErrors, ByEvent: map[string]int{}}
	r.faultMu.Lock()
	rep.Faults = append(rep.Faults, r.faults...)
	r.faultMu.Unlock()

	attempts := r.stack.Sandbox.Deliveries()
	byGUID := guids(attempts)
	rep.Deliveries, rep.Attempts = len(byGUID), len(attempts)
	failedFirst := map[string]bool{}
	for guid, as := range byGUID {
		rep.ByEvent[as[0].Event]++
		// Newest first: the last element is the first attempt.
		if as[len(as)-1].Status != "OK" {
			failedFirst[guid] = true
		}
		for _, a := range as {
			if a.Status != "OK" {
				rep.FailedAttempts++
			}
		}
	}

	log, err := r.eventLog(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the event log: %w", err)
	}
	updates, err := r.updates(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the update log: %w", err)
	}
	done, err := doneLines(filepath.Join(r.logs, "processor.log"))
	if err != nil {
		return nil, err
	}
	inv := invariants(byGUID, log, updates, done)
	rep.Lost, rep.Twice, rep.Failed, rep.Duplicates, rep.Unknown = inv.lost, inv.twice, inv.failed, inv.duplicates, inv.unknown
	for guid := range failedFirst {
		if delivered(byGUID[guid]) {
			rep.JobRecovered++
		}
		if inv.dupsOf[guid] > 0 && okAttempts(byGUID[guid]) == 1 {
			rep.QueuedAnyway++
		}
	}

	if rep.DLQDepth, err = r.stack.QueueDepth(ctx, r.deadLetterQueue()); err != nil {
		return nil, err
	}
	rep.Mismatched, rep.Projects, err = r.comparePlans(ctx)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func okAttempts(as []ghsandbox.Delivery) int {
	n := 0
	for _, a := range as {
		if a.Status == "OK" {
			n++
		}
	}
	return n
}

func (r *run) deadLetterQueue() string {
	for _, q := range r.tpl.Queues() {
		if q.LogicalID == "EventsQueue" {
			return q.DeadLetterQueue
		}
	}
	return ""
}

func (r *run) updates(ctx context.Context) ([]store.Update, error) {
	var all []store.Update
	err := dynamo.NewFromIface(r.stack.DynamoDB).Table(r.stack.Info.Resources.Tables["UpdatesTable"]).Scan().Consistent(true).All(ctx, &all)
	return all, err
}

// doneLines counts the processor's "delivery done" log lines by delivery id: the
// processor writes one each time it finishes a delivery.
func doneLines(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("processor log: %w", err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"delivery done"`) {
			continue
		}
		var l struct {
			Msg string `json:"msg"`
			ID  string `json:"github_delivery_id"`
		}
		if json.Unmarshal(line, &l) == nil && l.Msg == "delivery done" && l.ID != "" {
			out[l.ID]++
		}
	}
	return out, sc.Err()
}

// invariantResult is what invariants found.
type invariantResult struct {
	lost, twice, failed []string
	duplicates, unknown int
	dupsOf              map[string]int // duplicate entries by delivery
}

// invariants holds the deliveries the sandbox sent (attempts by GUID) to what the
// pipeline recorded: the event log, the update log and the processor's "delivery done"
// lines (count by delivery id).
//   - lost: a delivery with no successful attempt, or whose event log entry is missing
//     or not final;
//   - done twice: a delivery with more than one entry that is not a duplicate, more
//     than one update log entry for a project, or more than one "delivery done" line;
//   - failed: an entry whose status is failed.
func invariants(byGUID map[string][]ghsandbox.Delivery, log []store.Event, updates []store.Update, done map[string]int) invariantResult {
	res := invariantResult{dupsOf: map[string]int{}}
	entries := map[string][]store.Event{}
	for _, e := range log {
		if e.Status == store.EventDuplicate {
			res.duplicates++
			res.dupsOf[e.DuplicateOf]++
			continue
		}
		id, _, _ := strings.Cut(e.DeliveryID, "#")
		entries[id] = append(entries[id], e)
		if _, ok := byGUID[id]; !ok {
			res.unknown++
		}
	}
	perProject := map[string]int{}
	for _, u := range updates {
		perProject[u.ProjectID+" "+u.DeliveryID]++
	}
	for _, id := range slices.Sorted(maps.Keys(byGUID)) {
		as := byGUID[id]
		es := entries[id]
		ev := as[0].Event
		switch {
		case !delivered(as):
			res.lost = append(res.lost, fmt.Sprintf("%s %s: no successful attempt", ev, id))
		case len(es) == 0:
			res.lost = append(res.lost, fmt.Sprintf("%s %s: not in the event log", ev, id))
		case es[0].Status == store.EventFailed:
			res.failed = append(res.failed, fmt.Sprintf("%s %s: %s %s", ev, id, es[0].ErrorCode, es[0].Error))
		case es[0].Status != store.EventProcessed && es[0].Status != store.EventIgnored:
			res.lost = append(res.lost, fmt.Sprintf("%s %s: left %s", ev, id, es[0].Status))
		}
		if len(es) > 1 {
			res.twice = append(res.twice, fmt.Sprintf("%s %s: %d event log entries", ev, id, len(es)))
		}
		if done[id] > 1 {
			res.twice = append(res.twice, fmt.Sprintf("%s %s: done %d times", ev, id, done[id]))
		}
	}
	keys := make([]string, 0, len(perProject))
	for k, n := range perProject {
		if n > 1 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		project, id, _ := strings.Cut(k, " ")
		res.twice = append(res.twice, fmt.Sprintf("%s: %d updates of project %s", id, perProject[k], project))
	}
	return res
}

// comparePlans checks that every project's latest snapshot (read through the API) is
// the plan as it is in the sandbox at the end: tasks, progress and sections.
func (r *run) comparePlans(ctx context.Context) ([]string, int, error) {
	var bad []string
	n := 0
	for _, rp := range r.repoList(func(rp *repo) bool { return rp.tracked }) {
		n++
		p, err := r.client.Project(ctx, rp.projectID)
		if err != nil {
			return nil, 0, err
		}
		src, err := os.ReadFile(filepath.Join(r.root, owner, rp.name, filepath.FromSlash(planPath)))
		if err != nil {
			return nil, 0, err
		}
		if diff := snapshotDiff(p.LatestSnapshot, plan.Parse(src)); diff != "" {
			bad = append(bad, rp.name+": "+diff)
		}
	}
	return bad, n, nil
}

// snapshotDiff says how a snapshot differs from a plan, or "" when it shows it.
func snapshotDiff(s *store.Snapshot, want plan.Plan) string {
	if s == nil {
		return "no snapshot"
	}
	if !s.PlanFound || s.TasksTotal != want.TasksTotal || s.TasksDone != want.TasksDone || s.Progress != want.Progress {
		return fmt.Sprintf("snapshot %d/%d (found %t) at %s, plan %d/%d", s.TasksDone, s.TasksTotal, s.PlanFound, s.CommitSHA, want.TasksDone, want.TasksTotal)
	}
	if len(s.Sections) != len(want.Sections) {
		return fmt.Sprintf("%d sections, plan %d", len(s.Sections), len(want.Sections))
	}
	for i, sec := range want.Sections {
		got := s.Sections[i]
		if got.Title != sec.Title || got.TasksDone != sec.TasksDone || got.TasksTotal != sec.TasksTotal {
			return fmt.Sprintf("section %q %d/%d, plan %q %d/%d", got.Title, got.TasksDone, got.TasksTotal, sec.Title, sec.TasksDone, sec.TasksTotal)
		}
	}
	return ""
}
