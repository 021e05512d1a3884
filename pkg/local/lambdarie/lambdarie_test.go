package lambdarie

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// built holds the emulator and the test function, built on first use into a directory
// that TestMain removes.
var built struct {
	once         sync.Once
	dir, rie, fn string
	err          error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// binaries returns the emulator and the test function's bootstrap, building them on first
// use. Under -short it skips the test: it builds and runs real processes.
func binaries(t *testing.T) (rie, fn string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the Lambda runtime interface emulator: skipped under -short")
	}
	built.once.Do(func() { built.rie, built.fn, built.err = build() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.rie, built.fn
}

func build() (rie, fn string, err error) {
	dir, err := os.MkdirTemp("", "lambdarie-test")
	if err != nil {
		return "", "", err
	}
	built.dir = dir
	root, err := standin.ModuleRoot()
	if err != nil {
		return "", "", err
	}
	rie, fn = filepath.Join(dir, "aws-lambda-rie"), filepath.Join(dir, "fn", "bootstrap")
	for _, b := range []struct{ out, pkg string }{
		{rie, "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"},
		{fn, "./pkg/local/lambdarie/testdata/fn"},
	} {
		// The flags of `make build` and the local stack, so the build cache serves all.
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", b.out, b.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return rie, fn, nil
}

// lines collects output lines.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (c *lines) add(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.l = append(c.l, string(b))
}

func (c *lines) contains(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.l {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func startPool(t *testing.T, fn Function, opts Options) (*Pool, *lines) {
	t.Helper()
	out := &lines{}
	if fn.Name == "" {
		fn.Name = "fn"
	}
	opts.RIE, fn.Bootstrap = binaries(t)
	opts.Output = out.add
	p, err := Start(context.Background(), fn, opts)
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, out
}

func TestInvokeOutcomes(t *testing.T) {
	p, out := startPool(t, Function{Timeout: 2 * time.Second, Env: map[string]string{"GREETING": "hi"}}, Options{})
	tests := []struct {
		name      string
		event     string
		wantError bool
		check     func(t *testing.T, payload []byte)
	}{
		{"answer", `{"echo":{"a":[1,2]}}`, false, equals(`{"a":[1,2]}`)},
		{"environment given", `{"env":"GREETING"}`, false, equals(`{"set":true,"value":"hi"}`)},
		{"caller environment kept out", `{"env":"LAMBDARIE_TEST_LEAK"}`, false, equals(`{"set":false,"value":""}`)},
		{"function name set", `{"env":"AWS_LAMBDA_FUNCTION_NAME"}`, false, equals(`{"set":true,"value":"fn"}`)},
		{"returned error", `{"fail":"no plan"}`, true, errorType("errorString")},
		{"panic", `{"panic":"boom"}`, true, errorType("string")},
		{"answer after a panic", `{"echo":1}`, false, equals(`1`)},
		{"exit", `{"exit":3}`, true, errorType("Runtime.ExitError")},
		{"answer after an exit", `{"echo":2}`, false, equals(`2`)},
		{"timeout", `{"sleep_ms":3000}`, true, errorType("Sandbox.Timedout")},
		{"answer after a timeout", `{"echo":3}`, false, equals(`3`)},
	}
	t.Setenv("LAMBDARIE_TEST_LEAK", "secret")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Invoke(context.Background(), []byte(tc.event))
			if err != nil {
				t.Fatalf("Invoke(%s) error = %v", tc.event, err)
			}
			if got := res.FunctionError != ""; got != tc.wantError {
				t.Fatalf("Invoke(%s) FunctionError = %q (payload %s), want error %t", tc.event, res.FunctionError, res.Payload, tc.wantError)
			}
			tc.check(t, res.Payload)
		})
	}
	if _, err := p.Invoke(context.Background(), []byte(`{"log":"hello from the function"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return out.contains("hello from the function") && out.contains("stderr: hello from the function")
	})
	if !out.contains("REPORT RequestId:") {
		t.Error("no REPORT line in the function's output")
	}
}

func equals(want string) func(*testing.T, []byte) {
	return func(t *testing.T, payload []byte) {
		t.Helper()
		if string(payload) != want {
			t.Errorf("payload = %s, want %s", payload, want)
		}
	}
}

func errorType(want string) func(*testing.T, []byte) {
	return func(t *testing.T, payload []byte) {
		t.Helper()
		var e struct {
			ErrorType string `json:"errorType"`
		}
		if err := json.Unmarshal(payload, &e); err != nil || e.ErrorType != want {
			t.Errorf("error payload = %s, want errorType %s", payload, want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInitFailure(t *testing.T) {
	p, out := startPool(t, Function{Env: map[string]string{"FAIL_INIT": "1"}}, Options{})
	res, err := p.Invoke(context.Background(), []byte(`{}`))
	if err != nil {
		t.Fatalf("Invoke() error = %v", err)
	}
	if res.FunctionError == "" {
		t.Fatalf("Invoke() of a function failing its init = %s, want a function error", res.Payload)
	}
	waitFor(t, func() bool { return out.contains("init failed on purpose") })
}

// TestConcurrentInvocations runs more invocations at once than one emulator can take:
// each goes to its own emulator, up to MaxInstances, and the rest wait their turn.
func TestConcurrentInvocations(t *testing.T) {
	p, _ := startPool(t, Function{Timeout: 5 * time.Second}, Options{MaxInstances: 3})
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			res, err := p.Invoke(context.Background(), fmt.Appendf(nil, `{"echo":%d,"sleep_ms":200}`, i))
			switch {
			case err != nil:
				errs <- err
			case res.FunctionError != "" || string(res.Payload) != fmt.Sprint(i):
				errs <- fmt.Errorf("invocation %d answered %s (%s)", i, res.Payload, res.FunctionError)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p.mu.Lock()
	started := len(p.instances)
	p.mu.Unlock()
	if started > 3 {
		t.Errorf("%d emulators running, want at most MaxInstances = 3", started)
	}
}

func TestPayloadLimit(t *testing.T) {
	p, _ := startPool(t, Function{}, Options{})
	_, err := p.Invoke(context.Background(), make([]byte, MaxPayloadBytes+1))
	if !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("Invoke(6 MB + 1) error = %v, want ErrPayloadTooLarge", err)
	}
}

func TestCloseStopsEveryProcess(t *testing.T) {
	p, _ := startPool(t, Function{}, Options{MaxInstances: 2})
	if _, err := p.Invoke(context.Background(), []byte(`{"echo":1}`)); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	var ins []*instance
	for in := range p.instances {
		ins = append(ins, in)
	}
	p.mu.Unlock()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if !in.exited() {
			t.Errorf("emulator %s still running after Close", in.name)
		}
	}
	if _, err := p.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke() after Close error = %v, want ErrClosed", err)
	}
}

func TestStartRejectsMissingExecutable(t *testing.T) {
	// Any executable stands in for the emulator: the missing bootstrap is refused first.
	rie := filepath.Join(t.TempDir(), "rie")
	if err := os.WriteFile(rie, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Function{Name: "ghost", Bootstrap: filepath.Join(t.TempDir(), "bootstrap")}, Options{RIE: rie})
	if err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("Start() error = %v, want one naming the function", err)
	}
}

// TestCallerGivingUpDoesNotStopTheInvocation: as in Lambda, an invocation whose caller
// stops waiting runs to its end, and its execution environment serves the next one.
func TestCallerGivingUpDoesNotStopTheInvocation(t *testing.T) {
	p, out := startPool(t, Function{Timeout: 5 * time.Second}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := p.Invoke(ctx, []byte(`{"sleep_ms":600,"log":"finished anyway"}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke() with a short deadline error = %v, want DeadlineExceeded", err)
	}
	res, err := p.Invoke(context.Background(), []byte(`{"echo":"next"}`))
	if err != nil || string(res.Payload) != `"next"` {
		t.Fatalf("next Invoke() = %v, %v; want \"next\"", res, err)
	}
	if !out.contains("finished anyway") {
		t.Error("the abandoned invocation did not run to its end")
	}
	p.mu.Lock()
	n := p.seq
	p.mu.Unlock()
	if n != 1 {
		t.Errorf("%d emulators started, want the first one reused", n)
	}
}

// TestKillEndsRunningInvocations: Kill ends the environments that are running an
// invocation, which fails without the function's answer; idle ones are left alone and
// the pool starts new environments for the next invocations.
func TestKillEndsRunningInvocations(t *testing.T) {
	p, out := startPool(t, Function{Timeout: 10 * time.Second}, Options{MaxInstances: 2})
	if n := p.Kill(); n != 0 {
		t.Errorf("Kill() with nothing running = %d, want 0", n)
	}
	done := make(chan error, 1)
	go func() {
		res, err := p.Invoke(context.Background(), []byte(`{"sleep_ms":3000,"log":"survived"}`))
		if err == nil && res.FunctionError == "" {
			err = fmt.Errorf("killed invocation answered %s, want a failure", res.Payload)
		} else {
			err = nil
		}
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	killed := 0
	for killed == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		killed = p.Kill()
	}
	if killed != 1 {
		t.Fatalf("Kill() during an invocation = %d, want 1", killed)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the killed invocation did not end")
	}
	if out.contains("survived") {
		t.Error("the killed function ran to its end")
	}
	res, err := p.Invoke(context.Background(), []byte(`{"echo":"after"}`))
	if err != nil || string(res.Payload) != `"after"` {
		t.Fatalf("Invoke() after Kill = %v, %v; want \"after\"", res, err)
	}
}
