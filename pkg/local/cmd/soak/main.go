// Command soak runs the soak test of the local stack and prints its report (`make soak`;
// pkg/local/soak/README.md): wiring only, the run is pkg/local/soak. It exits 1 when an
// invariant fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/repotrackr/github-integration/pkg/local/soak"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run() error {
	c := soak.DefaultConfig()
	flag.IntVar(&c.Deliveries, "deliveries", c.Deliveries, "deliveries (distinct GUIDs) the sandbox sends at least")
	flag.Float64Var(&c.RedeliverShare, "redeliver-share", c.RedeliverShare, "share of the deliveries sent again through the sandbox's redelivery")
	flag.IntVar(&c.Senders, "senders", c.Senders, "concurrent senders")
	flag.Float64Var(&c.Rate, "rate", c.Rate, "changes per second, all senders together")
	flag.IntVar(&c.Repos, "repos", c.Repos, "repositories tracked by a project")
	flag.IntVar(&c.Untracked, "untracked", c.Untracked, "repositories nobody tracks")
	flag.DurationVar(&c.FaultStart, "fault-start", c.FaultStart, "when the first fault begins")
	flag.DurationVar(&c.FaultGap, "fault-gap", c.FaultGap, "pause between faults")
	flag.DurationVar(&c.DynamoPause, "dynamodb-pause", c.DynamoPause, "how long DynamoDB is paused")
	flag.DurationVar(&c.SQSPause, "sqs-pause", c.SQSPause, "how long SQS is paused")
	flag.DurationVar(&c.GitHubOutage, "github-outage", c.GitHubOutage, "how long GitHub answers 5xx, and then rate limits")
	flag.DurationVar(&c.Visibility, "visibility", c.Visibility, "queues' visibility timeout (0: the template's 180s)")
	flag.DurationVar(&c.Lease, "lease", c.Lease, "the processor's PROCESSOR_LEASE (0: its default, 2m); keep it below -visibility")
	flag.DurationVar(&c.RedeliverEvery, "redeliver-every", c.RedeliverEvery, "the redeliver job's schedule")
	flag.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "longest wait for the drain")
	flag.Uint64Var(&c.Seed, "seed", 0, "seed of the traffic's choices (0: random)")
	flag.BoolVar(&c.Keep, "keep", false, "keep the run's directory (stack logs) even when it passes")
	flag.Parse()
	c.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := soak.Run(ctx, c)
	if err != nil {
		return err
	}
	fmt.Print(rep)
	if f := rep.Failures(); len(f) > 0 {
		return fmt.Errorf("%d invariants failed", len(f))
	}
	return nil
}
