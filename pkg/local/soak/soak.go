package soak

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/local/devstack"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// Config sizes a soak run. DefaultConfig is `make soak`; zero fields take its values.
type Config struct {
	// Root is the module root; found from the working directory when empty.
	Root string
	// Dir holds the run's stack, binaries and logs; a new temporary directory when
	// empty, removed after a run that passes unless Keep is set.
	Dir  string
	Keep bool
	// Deliveries is how many deliveries (distinct GUIDs) the sandbox sends at least.
	Deliveries int
	// RedeliverShare of the deliveries are sent again through the sandbox's redelivery
	// (same GUID).
	RedeliverShare float64
	// Senders is how many concurrent senders make changes (file edits, issues, pull
	// requests, repositories); half as many, at least one, request redeliveries.
	Senders int
	// Rate is the changes per second of all senders together.
	Rate float64
	// Repos tracked by a project each, and Untracked repositories nobody tracks.
	Repos, Untracked int
	// FaultStart is when the first fault begins after the traffic starts; FaultGap
	// separates the faults.
	FaultStart, FaultGap time.Duration
	// DynamoPause and SQSPause are how long each stand-in is paused; GitHubOutage how
	// long GitHub answers 5xx, and then how long it answers rate limits.
	DynamoPause, SQSPause, GitHubOutage time.Duration
	// Visibility replaces the queues' visibility timeout and Lease the processor's
	// claim (PROCESSOR_LEASE) when set; keep Lease below Visibility, as the template's
	// 2 minutes are below its 180 s.
	Visibility, Lease time.Duration
	// RedeliverEvery is the redeliver job's schedule (the template's 10 minutes is too
	// long for a run).
	RedeliverEvery time.Duration
	// AgeFailed makes the deliveries that failed during the SQS outage look
	// redeliver.DefaultMinAge older once SQS is back (ghsandbox's AgeDeliveries), so
	// that a short run need not wait the job's two minutes.
	AgeFailed bool
	// DrainTimeout bounds the wait for the pipeline to drain after the traffic.
	DrainTimeout time.Duration
	// Seed seeds the traffic's random choices (which change, which task, which
	// deliveries are redelivered); 0 picks one. The interleaving of the concurrent
	// senders still varies from run to run.
	Seed uint64
	// Progress receives a line per phase; nil discards.
	Progress io.Writer
}

// DefaultConfig is the run `make soak` makes: about five minutes on a 2-core machine.
func DefaultConfig() Config {
	return Config{
		Deliveries:     2000,
		RedeliverShare: 0.3,
		Senders:        4,
		Rate:           16,
		Repos:          10,
		Untracked:      3,
		FaultStart:     10 * time.Second,
		FaultGap:       5 * time.Second,
		DynamoPause:    30 * time.Second,
		SQSPause:       30 * time.Second,
		GitHubOutage:   15 * time.Second,
		// Half the template's 180 s and 2 min: a message whose batch died returns after
		// the visibility timeout, which sets most of the drain. -visibility=0 -lease=0
		// runs with the template's values.
		Visibility:     90 * time.Second,
		Lease:          60 * time.Second,
		RedeliverEvery: 30 * time.Second,
		DrainTimeout:   8 * time.Minute,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&c.Deliveries, d.Deliveries)
	set(&c.Senders, d.Senders)
	set(&c.Repos, d.Repos)
	set(&c.Untracked, d.Untracked)
	if c.RedeliverShare <= 0 {
		c.RedeliverShare = d.RedeliverShare
	}
	if c.Rate <= 0 {
		c.Rate = d.Rate
	}
	setD(&c.FaultStart, d.FaultStart)
	setD(&c.FaultGap, d.FaultGap)
	setD(&c.DynamoPause, d.DynamoPause)
	setD(&c.SQSPause, d.SQSPause)
	setD(&c.GitHubOutage, d.GitHubOutage)
	setD(&c.RedeliverEvery, d.RedeliverEvery)
	setD(&c.DrainTimeout, d.DrainTimeout)
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// run is one soak run's state.
type run struct {
	cfg     Config
	stack   *devstack.Stack
	tpl     *samtemplate.Template
	client  *devstack.Client
	root    string // the sandbox's repositories
	logs    string // the functions' log files
	rng     *rand.Rand
	rngMu   sync.Mutex
	start   time.Time
	reposMu sync.Mutex
	repos   []*repo
	extraMu sync.Mutex
	faultMu sync.Mutex
	faults  []Fault
}

// Run starts a fresh local stack, sends the traffic with the faults, waits for the
// pipeline to drain and checks the invariants. The error is for a run that could not
// be made; a run whose invariants fail returns a Report whose Failures say which.
// templateVisibility and defaultLease are what a zero Visibility and Lease leave in
// place: the template's visibility timeout and the processor's PROCESSOR_LEASE default.
const (
	templateVisibility = 180 * time.Second
	defaultLease       = 2 * time.Minute
)

// check refuses a lease that does not end before the visibility timeout: a message whose
// worker died would come back while its claim still holds, be refused as busy on every
// receive and end in the DLQ, and the run would report a pipeline failure that is the
// flags' doing.
func (c Config) check() error {
	vis, lease := c.Visibility, c.Lease
	if vis <= 0 {
		vis = templateVisibility
	}
	if lease <= 0 {
		lease = defaultLease
	}
	if lease >= vis {
		return fmt.Errorf("soak: the lease (%s) must end before the visibility timeout (%s): set -lease below -visibility", lease, vis)
	}
	return nil
}

func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	began := time.Now()
	root := cfg.Root
	if root == "" {
		if root, err = standin.ModuleRoot(); err != nil {
			return nil, err
		}
	}
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "repotrackr-soak-"); err != nil {
			return nil, err
		}
		defer func() {
			if !cfg.Keep && err == nil && rep != nil && len(rep.Failures()) == 0 {
				_ = os.RemoveAll(dir)
			} else if rep != nil {
				rep.Dir = dir
			}
		}()
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "soak: building the functions into %s\n", dir)
	binDir, rie, err := devstack.BuildFunctions(ctx, root, filepath.Join(dir, "build"), tpl)
	if err != nil {
		return nil, err
	}
	console, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		return nil, err
	}
	defer console.Close()
	opts := devstack.Options{
		Root: root, StateDir: filepath.Join(dir, "stack"), Ephemeral: true, FreePorts: true,
		BinDir: binDir, RIE: rie, Console: console,
		VisibilityTimeout: cfg.Visibility, ScheduleEvery: cfg.RedeliverEvery,
	}
	if cfg.Lease > 0 {
		opts.FunctionEnv = map[string]map[string]string{"processor": {config.ProcessorLease: cfg.Lease.String()}}
	}
	fmt.Fprintf(cfg.Progress, "soak: functions built after %s\n", time.Since(began).Round(time.Second))
	fmt.Fprintf(cfg.Progress, "soak: starting the local stack (console: %s)\n", console.Name())
	stack, err := devstack.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := stack.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	r := &run{
		cfg: cfg, stack: stack, tpl: tpl,
		client: &devstack.Client{BaseURL: stack.Info.GatewayURL, Token: stack.Token},
		root:   filepath.Join(opts.StateDir, "github"),
		logs:   filepath.Join(opts.StateDir, "logs"),
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "soak: stack up and projects registered after %s\n", time.Since(began).Round(time.Second))
	fmt.Fprintf(cfg.Progress, "soak: %d repositories (%d tracked), sending %d deliveries from %d senders, seed %d\n",
		len(r.repos), cfg.Repos, cfg.Deliveries, cfg.Senders, cfg.Seed)
	t, err := r.traffic(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "soak: traffic done after %s; waiting for the drain\n", t.took.Round(time.Second))
	drained, drainTime := r.drain(ctx)
	rep, err = r.check(ctx, t)
	if err != nil {
		return nil, err
	}
	rep.Drained, rep.DrainTime = drained, drainTime
	return rep, nil
}

// intn is a random number in [0, n), safe for concurrent senders.
func (r *run) intn(n int) int {
	r.rngMu.Lock()
	defer r.rngMu.Unlock()
	return r.rng.IntN(n)
}

func (r *run) chance(p float64) bool {
	r.rngMu.Lock()
	defer r.rngMu.Unlock()
	return r.rng.Float64() < p
}

func (r *run) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
