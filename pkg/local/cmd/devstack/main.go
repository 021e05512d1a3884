// Command devstack runs RepoTrackr's local stack (`make dev`), its demo (`make demo`) and
// one-off invocations (`make invoke`):
//
//	devstack up     [-addr 127.0.0.1:3000] [-concurrency 4]
//	devstack demo   [-tick 3]
//	devstack invoke -fn ingest -event events/ingest/push.json
//	devstack token  [-user alice] [-ttl 24h]
//
// State lives in .devstack at the module root, or in $DEVSTACK_STATE when set.
//
// All of it is wiring; the stack is package devstack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/devstack"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

const usage = `usage: devstack <command> [flags]

commands:
  up      start the whole pipeline in the foreground (make dev)
  demo    register the demo project and send it a signed push (make demo)
  invoke  run one function with one event, like sam local invoke (make invoke)
  token   print a bearer token for a user, valid on the running stack`

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	root, err := standin.ModuleRoot()
	if err != nil {
		return err
	}
	// DEVSTACK_STATE moves the state (a second stack beside `make dev`, say).
	stateDir := filepath.Join(root, ".devstack")
	if d := os.Getenv("DEVSTACK_STATE"); d != "" {
		stateDir = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "up":
		return up(ctx, root, stateDir, args[1:])
	case "demo":
		fs := flag.NewFlagSet("demo", flag.ContinueOnError)
		tick := fs.Int("tick", 3, "how many open tasks of the plan the demo ticks")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return devstack.RunDemo(ctx, devstack.DemoOptions{Root: root, StateDir: stateDir, Tick: *tick, Out: os.Stdout})
	case "invoke":
		fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
		fn := fs.String("fn", "", "function name (the folder under functions/)")
		event := fs.String("event", "", "event file, e.g. events/ingest/push.json")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *fn == "" || *event == "" {
			return errors.New("usage: devstack invoke -fn <function> -event <file>")
		}
		return devstack.RunInvoke(ctx, devstack.InvokeOptions{
			Root: root, StateDir: stateDir, Function: *fn, EventFile: *event,
			Out: os.Stdout, Logs: os.Stderr,
		})
	case "token":
		fs := flag.NewFlagSet("token", flag.ContinueOnError)
		user := fs.String("user", devstack.DevUser, "the token's subject (RepoTrackr user)")
		ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		tok, err := devstack.SignToken(stateDir, *user, *ttl)
		if err != nil {
			return err
		}
		fmt.Println(tok)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// forceQuitOnSecondSignal makes another Ctrl-C, a second or more after the first, end
// the process at once should stopping hang (the kernel then stops the children). The
// same signal arriving twice at once (from the terminal and from `go run`) does not.
func forceQuitOnSecondSignal() {
	first := time.Now()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for range sigs {
			if time.Since(first) > time.Second {
				fmt.Fprintln(os.Stderr, "devstack: stopped without cleaning up")
				os.Exit(1)
			}
		}
	}()
}

func up(ctx context.Context, root, stateDir string, args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	addr := fs.String("addr", devstack.DefaultAddr, "HTTP API address; the sandbox, DynamoDB, SQS and CloudWatch take the next four ports")
	conc := fs.Int("concurrency", 4, "concurrent invocations per function")
	bin := fs.String("bin", filepath.Join(root, "bin"), "directory holding <function>/bootstrap (make build writes bin/)")
	noWatch := fs.Bool("no-watch", false, "the GitHub sandbox sends no push when files under .devstack/github/ change (deliveries by hand only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stopWithParent()
	if info, err := devstack.ReadInfo(stateDir); err == nil {
		return fmt.Errorf("a local stack already runs on this state (pid %d, %s): stop it first", info.PID, info.GatewayURL)
	}
	gh, err := devstack.GitHubAppFromEnv()
	if err != nil {
		return err
	}
	started := time.Now()
	s, err := devstack.Start(ctx, devstack.Options{
		Root: root, StateDir: stateDir, Addr: *addr, Console: os.Stdout,
		MaxConcurrency: *conc, GitHub: gh, BinDir: *bin, NoWatch: *noWatch,
	})
	if err != nil {
		var se *devstack.StartError
		if errors.As(err, &se) {
			return fmt.Errorf("%s failed to start: %w", se.Component, se.Err)
		}
		return err
	}
	fmt.Print(s.Summary())
	fmt.Printf("(up in %.1fs)\n\n", time.Since(started).Seconds())
	<-ctx.Done()
	forceQuitOnSecondSignal()
	fmt.Println("\nstopping the local stack…")
	if err := s.Close(); err != nil {
		return err
	}
	fmt.Printf("stopped; data kept in %s (delete it, or run make dev-reset for .devstack, to start afresh)\n", stateDir)
	return nil
}
