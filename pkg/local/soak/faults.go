package soak

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/devstack"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/redeliver"
)

// Fault is one fault injected during the run.
type Fault struct {
	Kind   string
	Detail string
	// At is when it began, from the start of the traffic; For how long it lasted.
	At, For time.Duration
}

func (f Fault) String() string {
	s := fmt.Sprintf("%-26s at %5.1fs", f.Kind, f.At.Seconds())
	if f.For > 0 {
		s += fmt.Sprintf(" for %4.1fs", f.For.Seconds())
	}
	if f.Detail != "" {
		s += "  " + f.Detail
	}
	return s
}

// installationID is the sandbox installation covering every repository of the run.
const installationID = 1

// injectFaults runs the faults one after another while the senders send: the processor
// killed mid-batch, GitHub answering 5xx and then rate limits, DynamoDB paused, SQS
// paused.
func (r *run) injectFaults(ctx context.Context) {
	steps := []func(context.Context) Fault{
		r.killProcessor,
		r.githubErrors,
		r.githubRateLimit,
		func(ctx context.Context) Fault { return r.pause(ctx, devstack.ComponentDynamoDB, r.cfg.DynamoPause) },
		func(ctx context.Context) Fault {
			f := r.pause(ctx, devstack.ComponentSQS, r.cfg.SQSPause)
			if r.cfg.AgeFailed {
				// The redeliver job leaves attempts younger than its MinAge alone.
				r.stack.Sandbox.AgeDeliveries(redeliver.DefaultMinAge + time.Second)
				f.Detail += "; failed attempts aged by the job's minimum age"
			}
			return f
		},
	}
	if r.sleep(ctx, r.cfg.FaultStart) != nil {
		return
	}
	for i, step := range steps {
		if i > 0 && r.sleep(ctx, r.cfg.FaultGap) != nil {
			return
		}
		f := step(ctx)
		r.faultMu.Lock()
		r.faults = append(r.faults, f)
		r.faultMu.Unlock()
		fmt.Fprintf(r.cfg.Progress, "soak: fault %s\n", f)
	}
}

// killProcessor SIGKILLs the processor's execution environments as soon as one is
// running a batch.
func (r *run) killProcessor(ctx context.Context) Fault {
	at := time.Since(r.start)
	pool := r.stack.Functions["processor"]
	deadline := time.Now().Add(time.Minute)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if n := pool.Kill(); n > 0 {
			return Fault{Kind: "processor killed", At: time.Since(r.start), Detail: fmt.Sprintf("SIGKILL to %d execution environment(s) mid-batch", n)}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return Fault{Kind: "processor killed", At: at, Detail: "no batch was running within a minute: not injected"}
}

// githubErrors makes every repository call answer 502 for the outage's length.
func (r *run) githubErrors(ctx context.Context) Fault {
	sb := r.stack.Sandbox
	f := Fault{Kind: "GitHub 5xx", At: time.Since(r.start), For: r.cfg.GitHubOutage, Detail: "every /repos/** call answers 502"}
	sb.InjectFault(ghsandbox.Fault{Path: "/repos/**", Status: http.StatusBadGateway, Times: 1 << 30})
	_ = r.sleep(ctx, r.cfg.GitHubOutage)
	sb.ClearFaults()
	return f
}

// githubRateLimit rate-limits the installation: a secondary limit with Retry-After for
// half the outage's length, then the primary limit until its reset.
func (r *run) githubRateLimit(ctx context.Context) Fault {
	sb := r.stack.Sandbox
	f := Fault{Kind: "GitHub rate limits", At: time.Since(r.start), For: r.cfg.GitHubOutage,
		Detail: "installation 1: secondary limit (403, Retry-After), then primary (403, remaining 0)"}
	half := r.cfg.GitHubOutage / 2
	sb.SetRateLimit(installationID, ghsandbox.RateLimit{Shape: ghsandbox.SecondaryRetryAfter, Until: time.Now().Add(half)})
	_ = r.sleep(ctx, half)
	sb.SetRateLimit(installationID, ghsandbox.RateLimit{Shape: ghsandbox.PrimaryLimit, Until: time.Now().Add(r.cfg.GitHubOutage - half)})
	_ = r.sleep(ctx, r.cfg.GitHubOutage-half)
	sb.SetRateLimit(installationID, ghsandbox.RateLimit{})
	return f
}

// pause stops a stand-in's process (SIGSTOP) for d.
func (r *run) pause(ctx context.Context, component string, d time.Duration) Fault {
	f := Fault{Kind: component + " paused", At: time.Since(r.start), For: d, Detail: "SIGSTOP, then SIGCONT"}
	resume, err := r.stack.Pause(component)
	if err != nil {
		f.Detail = "not injected: " + err.Error()
		return f
	}
	_ = r.sleep(ctx, d)
	resume()
	return f
}
