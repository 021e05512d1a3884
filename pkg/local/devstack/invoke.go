package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
)

// InvokeOptions configures RunInvoke.
type InvokeOptions struct {
	Root, StateDir string
	// Function is the function's name (its folder under functions/).
	Function string
	// EventFile is the event, relative to the working directory or to Root.
	EventFile string
	// BinDir holds <function>/bootstrap (Root/bin when empty); RIE is the emulator
	// (built into StateDir/bin when empty).
	BinDir, RIE string
	// Out receives the function's answer; Logs its log lines and progress.
	Out, Logs io.Writer
}

// ErrFunctionFailed means the invoked function answered with an error.
var ErrFunctionFailed = errors.New("the function failed")

// RunInvoke runs one function with one event under the emulator, as `sam local invoke`
// does, and prints its answer and logs. It uses the running stack's tables, queues and
// GitHub when `make dev` runs, so that the function sees the same data; otherwise it
// starts the stand-ins in memory for this one invocation and stops them after.
func RunInvoke(ctx context.Context, o InvokeOptions) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logs == nil {
		o.Logs = io.Discard
	}
	if o.BinDir == "" {
		o.BinDir = filepath.Join(o.Root, "bin")
	}
	con := newConsole(o.Logs)
	tpl, err := samtemplate.Load(filepath.Join(o.Root, "template.yaml"))
	if err != nil {
		return err
	}
	fn, err := findFunction(tpl, o.Function)
	if err != nil {
		return err
	}
	event, err := readEvent(o.Root, o.EventFile)
	if err != nil {
		return err
	}
	bootstrap := filepath.Join(o.BinDir, fn.Name, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return fmt.Errorf("%s not found: build the functions first (`make build`)", bootstrap)
	}
	st := state{dir: o.StateDir}
	gh, err := GitHubAppFromEnv()
	if err != nil {
		return err
	}
	var res Resources
	if info, err := ReadInfo(o.StateDir); err == nil {
		con.progress("using the running local stack (%s)", info.GatewayURL)
		res = info.Resources
		res.Secret = func(name string) (string, error) { return localSecret(st, gh, name) }
	} else {
		con.progress("no local stack running: starting DynamoDB, SQS and the GitHub sandbox in memory for this invocation")
		s, err := start(ctx, Options{
			Root: o.Root, StateDir: o.StateDir, Ephemeral: true, FreePorts: true,
			BinDir: o.BinDir, RIE: o.RIE, Console: o.Logs, GitHub: gh,
			// No HTTP API runs to take the sandbox's webhooks.
			NoWatch: true,
		}, true)
		if err != nil {
			return err
		}
		defer s.Close()
		res = s.Info.Resources
		o.RIE = s.opts.RIE
	}
	if o.RIE == "" {
		if o.RIE, err = EnsureRIE(ctx, o.Root, st.path(dirBin), func(v string) {
			con.progress("building the Lambda Runtime Interface Emulator %s (first run only)", v)
		}); err != nil {
			return err
		}
	}
	env, err := FunctionEnv(tpl, fn, res)
	if err != nil {
		return err
	}
	pool, err := lambdarie.Start(ctx, lambdarie.Function{
		Name: fn.Name, Bootstrap: bootstrap, Env: env,
		Timeout: time.Duration(fn.Timeout) * time.Second, MemoryMB: fn.MemorySize,
	}, lambdarie.Options{
		RIE: o.RIE, Dir: o.Root,
		Output: func(line []byte) { con.line(fn.Name, line) },
		EmulatorLog: func(line []byte) {
			if bytes.Contains(line, []byte("[ERROR]")) {
				con.line("emulator", line)
			}
		},
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	r, err := pool.Invoke(ctx, event)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", fn.Name, err)
	}
	// Let the last log lines of the invocation arrive before the answer is printed.
	time.Sleep(100 * time.Millisecond)
	fmt.Fprintln(o.Out, indentJSON(r.Payload))
	if r.FunctionError != "" {
		return fmt.Errorf("%w (%s)", ErrFunctionFailed, r.FunctionError)
	}
	return nil
}

func findFunction(t *samtemplate.Template, name string) (samtemplate.Function, error) {
	var names []string
	for _, f := range t.Functions() {
		if f.Name == name || f.LogicalID == name {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return samtemplate.Function{}, fmt.Errorf("no function %q in template.yaml (functions: %s)", name, strings.Join(names, ", "))
}

func readEvent(root, file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && !filepath.IsAbs(file) {
		b, err = os.ReadFile(filepath.Join(root, file))
	}
	if err != nil {
		return nil, fmt.Errorf("read event: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("event %s is not JSON", file)
	}
	return b, nil
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		return out.String()
	}
	return string(b)
}
