package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

// DemoOptions configures RunDemo.
type DemoOptions struct {
	Root, StateDir string
	// Tick is how many open tasks of the plan the demo ticks (3 when zero).
	Tick int
	Out  io.Writer
	// Wait bounds the wait for the processor (60 s when zero).
	Wait time.Duration
}

// RunDemo drives the running stack as a user would: it links the dev user to the
// sandbox's installation through the App's real installation flow (through the front
// end's relay page, see Client.InstallApp), registers the demo repository through the
// API, ticks tasks in the sandbox's plan file and nothing more: the running sandbox sees
// the edit and sends the push webhook, as GitHub does for a push, and the demo prints the
// project's progress before and after the processor has read the new plan.
func RunDemo(ctx context.Context, o DemoOptions) error {
	if o.Tick <= 0 {
		o.Tick = 3
	}
	if o.Wait <= 0 {
		o.Wait = 60 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, "==> "+format+"\n", args...) }
	info, err := ReadInfo(o.StateDir)
	if err != nil {
		return err
	}
	if info.GitHubMode != ModeSandbox {
		return errors.New("make demo edits the sandbox's demo repository; with a real GitHub App, push to your repository instead (see the README's gh webhook forward)")
	}
	if !info.Watching {
		return errors.New("the local stack runs with -no-watch, so its GitHub sandbox sends no push for the demo's edit: restart `make dev` without it")
	}
	st := state{dir: o.StateDir}
	token, err := os.ReadFile(st.path(fileToken))
	if err != nil {
		return fmt.Errorf("read the dev token: %w", err)
	}
	key, err := st.appKey()
	if err != nil {
		return err
	}
	// A sandbox over the same files, to write them as the running one does; it sends
	// nothing itself (no webhook URL): the running stack's sandbox sees the edit.
	sb, err := ghsandbox.New(ghsandbox.Options{Root: st.path(dirGitHub), PrivateKeyPEM: key})
	if err != nil {
		return err
	}
	c := &Client{BaseURL: info.GatewayURL, Token: strings.TrimSpace(string(token))}

	say("linking %s to the sandbox's GitHub App installation (install flow: start, installation page, the relay page, the API's callback with the dev token)", info.DevUser)
	if err := c.InstallApp(ctx); err != nil {
		return fmt.Errorf("installation flow: %w", err)
	}
	say("registering %s (plan %s)", DemoRepo, DemoPlanPath)
	p, created, err := c.EnsureProject(ctx, DemoRepo, DemoPlanPath)
	if err != nil {
		return fmt.Errorf("register the demo project: %w", err)
	}
	if created {
		say("project %s registered", p.ID)
	} else {
		say("project %s was registered before", p.ID)
	}
	head, _, err := sb.Head(DemoOwner, DemoRepoName)
	if err != nil {
		return err
	}
	if p, err = c.WaitProject(ctx, p.ID, o.Wait, func(p *Project) bool { return snapshotAt(p, head) }); err != nil {
		return fmt.Errorf("wait for the project's first reading: %w", err)
	}
	say("before: %s", describeProgress(p))

	planFile := filepath.Join(st.path(dirGitHub), DemoOwner, DemoRepoName, filepath.FromSlash(DemoPlanPath))
	plan, err := os.ReadFile(planFile)
	if err != nil {
		return fmt.Errorf("read the demo plan: %w", err)
	}
	updated, n := tickTasks(plan, o.Tick)
	if n == 0 {
		return fmt.Errorf("every task of %s is done already: `make dev-reset` starts the demo afresh", planFile)
	}
	if err := sb.WriteFile(DemoOwner, DemoRepoName, DemoPlanPath, updated); err != nil {
		return err
	}
	after, _, err := sb.Head(DemoOwner, DemoRepoName)
	if err != nil {
		return err
	}
	say("ticked %d task(s) in %s: commit %s; the GitHub sandbox sends the push (its line is on the stack's console)", n, DemoPlanPath, short(after))
	say("waiting for the processor…")
	p, err = c.WaitProject(ctx, p.ID, o.Wait, func(p *Project) bool { return snapshotAt(p, after) })
	if err != nil {
		return fmt.Errorf("wait for the processor: %w", err)
	}
	say("after:  %s", describeProgress(p))
	return nil
}

func snapshotAt(p *Project, sha string) bool {
	return p.LatestSnapshot != nil && p.LatestSnapshot.CommitSHA == sha
}

func describeProgress(p *Project) string {
	s := p.LatestSnapshot
	if s == nil {
		return fmt.Sprintf("status %s, no reading yet", p.Status)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d tasks (%.0f%%) at %s, status %s", bar(s.Progress), s.TasksDone, s.TasksTotal, 100*s.Progress, short(s.CommitSHA), p.Status)
	for _, sec := range s.Sections {
		if sec.TasksTotal == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n      %-28s %d/%d", sec.Title, sec.TasksDone, sec.TasksTotal)
	}
	if len(s.Deps) > 0 {
		fmt.Fprintf(&b, "\n      %d dependencies detected", len(s.Deps))
	}
	return b.String()
}

func bar(progress float64) string {
	const width = 20
	n := int(progress*width + 0.5)
	n = max(0, min(width, n))
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
