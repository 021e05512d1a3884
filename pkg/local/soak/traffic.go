package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/devstack"
)

// owner is the account of every repository of the run (installation 1 covers them).
const owner = devstack.DemoOwner

// planPath is where the tracked repositories keep their plan.
const planPath = "docs/plan.md"

// writeGap keeps the sandbox's commits of one repository at least a second apart: each
// write's head date is one second after the previous one when that is later than now,
// so faster writes would date commits in the future.
const writeGap = 1100 * time.Millisecond

// repo is one sandbox repository of the run.
type repo struct {
	name      string
	tracked   bool
	projectID string
	extra     bool // made and removed by installation changes

	mu        sync.Mutex
	lastWrite time.Time
	plan      []byte
	notes     int
	open      map[bool][]int // open issues (false) and pull requests (true)
}

// setup makes the repositories, links the dev user to installation 1 and registers a
// project per tracked repository.
func (r *run) setup(ctx context.Context) error {
	sb := r.stack.Sandbox
	for i := range r.cfg.Repos + r.cfg.Untracked {
		rp := &repo{name: fmt.Sprintf("tracked-%02d", i+1), tracked: true, open: map[bool][]int{}}
		if i >= r.cfg.Repos {
			rp.name, rp.tracked = fmt.Sprintf("untracked-%02d", i-r.cfg.Repos+1), false
		}
		rp.plan = initialPlan(i)
		if err := sb.WriteFile(owner, rp.name, planPath, rp.plan); err != nil {
			return err
		}
		if err := sb.WriteFile(owner, rp.name, "README.md", []byte("# "+rp.name+"\n")); err != nil {
			return err
		}
		rp.lastWrite = time.Now()
		r.repos = append(r.repos, rp)
	}
	if err := r.client.InstallApp(ctx); err != nil {
		return fmt.Errorf("link installation 1: %w", err)
	}
	for _, rp := range r.repos {
		if !rp.tracked {
			continue
		}
		p, _, err := r.client.EnsureProject(ctx, owner+"/"+rp.name, planPath)
		if err != nil {
			return fmt.Errorf("register %s: %w", rp.name, err)
		}
		rp.projectID = p.ID
	}
	return nil
}

// initialPlan is a plan of three sections of ten tasks, some done.
func initialPlan(seed int) []byte {
	var b strings.Builder
	b.WriteString("# Plan\n")
	for s := range 3 {
		fmt.Fprintf(&b, "\n## Phase %d\n\n", s+1)
		for t := range 10 {
			mark := " "
			if (seed+s+t)%3 == 0 {
				mark = "x"
			}
			fmt.Fprintf(&b, "- [%s] task %d.%d\n", mark, s+1, t+1)
		}
	}
	return []byte(b.String())
}

// flipTask ticks or unticks one task of a plan.
func flipTask(plan []byte, n int) []byte {
	lines := bytes.Split(plan, []byte("\n"))
	var tasks []int
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("- [ ] ")) || bytes.HasPrefix(l, []byte("- [x] ")) {
			tasks = append(tasks, i)
		}
	}
	if len(tasks) == 0 {
		return plan
	}
	l := lines[tasks[n%len(tasks)]]
	if l[3] == 'x' {
		l[3] = ' '
	} else {
		l[3] = 'x'
	}
	return bytes.Join(lines, []byte("\n"))
}

// trafficResult is what the traffic phase did.
type trafficResult struct {
	took time.Duration
	// ops counts the changes made by kind.
	ops map[string]int
	// redeliveries requested through the sandbox, and those refused.
	redeliveries, redeliveryErrors int
}

// traffic runs the senders, the redelivery requests and the faults until the sandbox
// has sent cfg.Deliveries deliveries and every fault is over.
func (r *run) traffic(ctx context.Context) (trafficResult, error) {
	r.start = time.Now()
	res := trafficResult{ops: map[string]int{}}
	var opsMu sync.Mutex
	count := func(kind string) {
		opsMu.Lock()
		res.ops[kind]++
		opsMu.Unlock()
	}
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()

	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		r.injectFaults(ctx)
	}()
	// Sending ends once the sandbox has sent enough deliveries and the faults are over,
	// so that every fault meets traffic.
	go func() {
		for sendCtx.Err() == nil {
			select {
			case <-faultsDone:
				if len(guids(r.stack.Sandbox.Deliveries())) >= r.cfg.Deliveries {
					stopSending()
					return
				}
			default:
			}
			_ = r.sleep(sendCtx, 250*time.Millisecond)
		}
	}()

	var wg sync.WaitGroup
	interval := time.Duration(float64(r.cfg.Senders) / r.cfg.Rate * float64(time.Second))
	errs := make(chan error, r.cfg.Senders)
	for range r.cfg.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sendCtx.Err() == nil {
				kind, err := r.change(sendCtx)
				if err != nil && sendCtx.Err() == nil {
					errs <- err
					stopSending()
					return
				}
				count(kind)
				_ = r.sleep(sendCtx, interval)
			}
		}()
	}

	red, err := newRedeliverer(r)
	if err != nil {
		return res, err
	}
	redDone := red.start(ctx, sendCtx, max(r.cfg.Senders/2, 1))

	wg.Wait()
	<-faultsDone
	select {
	case err := <-errs:
		return res, err
	default:
	}
	// The watcher's last pushes: the files settle, then it sends.
	_ = r.sleep(ctx, 2*time.Second)
	res.redeliveries, res.redeliveryErrors = red.finish(ctx, redDone)
	res.took = time.Since(r.start)
	return res, ctx.Err()
}

// change makes one random change through the sandbox and returns its kind.
func (r *run) change(ctx context.Context) (string, error) {
	switch n := r.intn(100); {
	case n < 30:
		return "push (plan)", r.push(ctx, true, true)
	case n < 42:
		return "push (other files)", r.push(ctx, true, false)
	case n < 50:
		return "push (untracked repository)", r.push(ctx, false, false)
	case n < 72:
		return "issue", r.thread(ctx, false)
	case n < 94:
		return "pull request", r.thread(ctx, true)
	default:
		return "installation change", r.installationChange()
	}
}

// pickRepo returns a repository of the kind (tracked or not) that may be written now,
// locked, or nil when every one was written less than writeGap ago.
func (r *run) pickRepo(tracked bool) *repo {
	list := r.repoList(func(rp *repo) bool { return rp.tracked == tracked && !rp.extra })
	off := r.intn(len(list))
	for i := range list {
		rp := list[(off+i)%len(list)]
		rp.mu.Lock()
		if time.Since(rp.lastWrite) >= writeGap {
			return rp
		}
		rp.mu.Unlock()
	}
	return nil
}

// push edits a file, which the sandbox's watcher turns into a push: the plan of a
// tracked repository, or another file.
func (r *run) push(ctx context.Context, tracked, plan bool) error {
	rp := r.pickRepo(tracked)
	if rp == nil {
		return r.thread(ctx, r.chance(0.5)) // every repository written just now
	}
	defer rp.mu.Unlock()
	var err error
	if plan {
		rp.plan = flipTask(rp.plan, r.intn(1000))
		err = r.stack.Sandbox.WriteFile(owner, rp.name, planPath, rp.plan)
	} else {
		rp.notes++
		err = r.stack.Sandbox.WriteFile(owner, rp.name, fmt.Sprintf("notes/%d.md", rp.notes%5), fmt.Appendf(nil, "note %d\n", rp.notes))
	}
	rp.lastWrite = time.Now()
	return err
}

// thread opens or closes an issue or a pull request through the sandbox's endpoints.
func (r *run) thread(ctx context.Context, pull bool) error {
	list := r.repoList(func(rp *repo) bool { return !rp.extra })
	rp := list[r.intn(len(list))]
	rp.mu.Lock()
	defer rp.mu.Unlock()
	kind := map[bool]string{false: "issues", true: "pulls"}[pull]
	base := r.stack.Info.GitHubAPIURL + "_sandbox/repos/" + owner + "/" + rp.name + "/" + kind
	if open := rp.open[pull]; len(open) > 0 && r.chance(0.5) {
		i := r.intn(len(open))
		n := open[i]
		rp.open[pull] = append(open[:i:i], open[i+1:]...)
		_, err := r.sandboxPost(ctx, fmt.Sprintf("%s/%d/close", base, n), nil)
		return err
	}
	var out struct {
		Number int `json:"number"`
	}
	body := map[string]string{"title": fmt.Sprintf("Soak %s %d", kind, r.intn(1_000_000))}
	if pull {
		body["head"] = fmt.Sprintf("feature-%d", r.intn(1000))
	}
	b, err := r.sandboxPost(ctx, base, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Number == 0 {
		return fmt.Errorf("open %s in %s: answer %s", kind, rp.name, b)
	}
	rp.open[pull] = append(rp.open[pull], out.Number)
	return nil
}

var sandboxHTTP = &http.Client{Timeout: time.Minute}

func (r *run) sandboxPost(ctx context.Context, url string, body any) ([]byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := sandboxHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", url, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("sandbox %s answered %d %s", url, resp.StatusCode, out.Bytes())
	}
	return out.Bytes(), nil
}

// installationChange adds a repository folder (installation_repositories added, and
// the push of its first commit) or removes one (removed).
func (r *run) installationChange() error {
	r.extraMu.Lock() // one change of the extras at a time
	defer r.extraMu.Unlock()
	extras := r.repoList(func(rp *repo) bool { return rp.extra })
	if len(extras) > 0 && (len(extras) >= 3 || r.chance(0.5)) {
		rp := extras[r.intn(len(extras))]
		r.reposMu.Lock()
		for i, x := range r.repos {
			if x == rp {
				r.repos = append(r.repos[:i:i], r.repos[i+1:]...)
				break
			}
		}
		r.reposMu.Unlock()
		return os.RemoveAll(filepath.Join(r.root, owner, rp.name))
	}
	name := fmt.Sprintf("extra-%04d", r.intn(10000))
	for _, rp := range extras {
		if rp.name == name {
			return nil
		}
	}
	if err := r.stack.Sandbox.WriteFile(owner, name, "README.md", []byte("# "+name+"\n")); err != nil {
		return err
	}
	r.reposMu.Lock()
	r.repos = append(r.repos, &repo{name: name, extra: true, open: map[bool][]int{}})
	r.reposMu.Unlock()
	return nil
}

// repoList returns the repositories keep accepts.
func (r *run) repoList(keep func(*repo) bool) []*repo {
	r.reposMu.Lock()
	defer r.reposMu.Unlock()
	var out []*repo
	for _, rp := range r.repos {
		if keep(rp) {
			out = append(out, rp)
		}
	}
	return out
}

// redeliverer asks the sandbox, as GitHub's API is asked, to redeliver a share of the
// deliveries that succeeded: picked as they are recorded, sent in random order.
type redeliverer struct {
	r      *run
	gh     *ghapp.Client
	mu     sync.Mutex
	seen   map[string]bool
	pool   []int64 // chosen, not sent yet
	rest   []int64 // not chosen: the top-up takes from them
	chosen int
	stop   chan struct{} // closed by finish: workers end once the pool is empty
	sent   atomic.Int64
	errs   atomic.Int64
}

func newRedeliverer(r *run) (*redeliverer, error) {
	sb := r.stack.Sandbox
	gh, err := ghapp.New(ghapp.Config{AppID: sb.AppID(), PrivateKey: sb.PrivateKeyPEM(), APIURL: r.stack.Info.GitHubAPIURL, WebURL: r.stack.Info.GitHubWebURL})
	if err != nil {
		return nil, err
	}
	return &redeliverer{r: r, gh: gh, seen: map[string]bool{}}, nil
}

// pick looks at the deliveries recorded since the last call: a GUID whose only attempt
// succeeded is chosen with the configured share. GUIDs that failed are left to the
// redeliver job.
func (d *redeliverer) pick() {
	attempts := map[string][]int{}
	ids := map[string]int64{}
	for _, a := range d.r.stack.Sandbox.Deliveries() {
		attempts[a.GUID] = append(attempts[a.GUID], a.StatusCode)
		ids[a.GUID] = a.ID
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for guid, codes := range attempts {
		if d.seen[guid] || len(codes) != 1 || codes[0]/100 != 2 {
			continue
		}
		d.seen[guid] = true
		if d.r.chance(d.r.cfg.RedeliverShare) {
			d.pool = append(d.pool, ids[guid])
			d.chosen++
		} else {
			d.rest = append(d.rest, ids[guid])
		}
	}
}

// take removes a random chosen delivery from the pool.
func (d *redeliverer) take() (int64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.pool) == 0 {
		return 0, false
	}
	i := d.r.intn(len(d.pool))
	id := d.pool[i]
	d.pool[i] = d.pool[len(d.pool)-1]
	d.pool = d.pool[:len(d.pool)-1]
	return id, true
}

// pending is how many chosen deliveries wait to be sent.
func (d *redeliverer) pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pool)
}

// start runs the picker while sending lasts and n workers that send redeliveries until
// finish; the returned channel closes when they have stopped.
func (d *redeliverer) start(ctx, sending context.Context, n int) chan struct{} {
	go func() {
		for sending.Err() == nil {
			d.pick()
			_ = d.r.sleep(sending, time.Second)
		}
	}()
	done := make(chan struct{})
	var wg sync.WaitGroup
	d.stop = make(chan struct{})
	interval := time.Duration(float64(d.r.cfg.Senders) / d.r.cfg.Rate * float64(time.Second))
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id, ok := d.take()
				if !ok {
					select {
					case <-d.stop:
						// finish may have topped the pool up just before: take again.
						if d.pending() == 0 {
							return
						}
					case <-time.After(200 * time.Millisecond):
					}
					continue
				}
				if err := d.gh.Redeliver(ctx, id); err != nil {
					d.errs.Add(1)
				} else {
					d.sent.Add(1)
				}
				_ = d.r.sleep(ctx, interval)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// finish tops the chosen deliveries up to the share of every delivery sent, waits for
// the workers to send them all, and returns how many were requested and refused.
func (d *redeliverer) finish(ctx context.Context, done chan struct{}) (int, int) {
	d.pick()
	total := len(guids(d.r.stack.Sandbox.Deliveries()))
	want := int(math.Ceil(d.r.cfg.RedeliverShare * float64(total)))
	d.mu.Lock()
	for d.chosen < want && len(d.rest) > 0 {
		i := d.r.intn(len(d.rest))
		d.pool = append(d.pool, d.rest[i])
		d.rest[i] = d.rest[len(d.rest)-1]
		d.rest = d.rest[:len(d.rest)-1]
		d.chosen++
	}
	fmt.Fprintf(d.r.cfg.Progress, "soak: %d of %d deliveries chosen for redelivery, %d sent so far\n", d.chosen, total, d.sent.Load())
	d.mu.Unlock()
	close(d.stop)
	select {
	case <-done:
	case <-ctx.Done():
	}
	return int(d.sent.Load()), int(d.errs.Load())
}
