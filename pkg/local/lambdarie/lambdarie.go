// Package lambdarie runs a Lambda function's real executable under the AWS Lambda Runtime
// Interface Emulator (RIE) and invokes it as Lambda's Invoke API would.
//
// The emulator serves one execution environment and must see one invocation at a time
// (two at once crash it), so a Pool keeps one emulator process per concurrent
// invocation, up to a limit, as Lambda keeps one execution environment per concurrent
// request. The emulator loses Lambda's X-Amz-Function-Error header, so Invoke recovers
// it from what the emulator answers: an error object, a 502, or its timeout text.
package lambdarie

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/child"
)

// InvokePath is the emulator's invocation endpoint.
const InvokePath = "/2015-03-31/functions/function/invocations"

// MaxPayloadBytes is Lambda's limit for a synchronous request or response payload.
const MaxPayloadBytes = 6*1024*1024 + 100

// FunctionErrorUnhandled is what Lambda's X-Amz-Function-Error says for a function that
// returned an error, panicked, crashed or timed out.
const FunctionErrorUnhandled = "Unhandled"

// Errors of Invoke that are not the function's own.
var (
	// ErrPayloadTooLarge is Lambda's RequestEntityTooLargeException.
	ErrPayloadTooLarge = errors.New("request payload over Lambda's 6 MB limit")
	// ErrClosed means the pool was closed.
	ErrClosed = errors.New("function pool closed")
)

// Function is one function to run.
type Function struct {
	// Name is the function's name (AWS_LAMBDA_FUNCTION_NAME and log prefixes).
	Name string
	// Bootstrap is the path of the function's executable.
	Bootstrap string
	// Env is the function's whole environment: the emulator passes its own environment
	// to the function, so nothing of the caller's leaks in (AWS_PROFILE, say).
	Env map[string]string
	// Timeout is the function's timeout (3 s when zero, as in SAM).
	Timeout time.Duration
	// MemoryMB is reported as AWS_LAMBDA_FUNCTION_MEMORY_SIZE (128 when zero).
	MemoryMB int
}

// Options configures a Pool.
type Options struct {
	// RIE is the path of the aws-lambda-rie executable. Required.
	RIE string
	// Dir is the function's working directory; the caller's when empty.
	Dir string
	// MaxInstances bounds concurrent invocations (execution environments); 1 when zero.
	MaxInstances int
	// Output receives each line the function writes (stdout and stderr), with the
	// emulator's START, END and REPORT lines, as CloudWatch Logs would. It is called from
	// several goroutines at once when MaxInstances > 1; line is only valid during the
	// call. Nil discards.
	Output func(line []byte)
	// EmulatorLog receives the emulator's own log lines, as Output does. Nil discards.
	EmulatorLog func(line []byte)
}

// Result is one invocation's outcome as Lambda's Invoke API reports it.
type Result struct {
	// Payload is the function's answer, or its error object when FunctionError is set.
	Payload []byte
	// FunctionError is Lambda's X-Amz-Function-Error: FunctionErrorUnhandled when the
	// function failed, empty when it answered.
	FunctionError string
	// RequestID is the invocation's Lambda request id.
	RequestID string
}

// Pool runs one function in up to Options.MaxInstances emulator processes.
type Pool struct {
	fn   Function
	opts Options

	idle chan *instance
	// slots holds one token per instance that may still be started.
	slots chan struct{}

	mu        sync.Mutex
	instances map[*instance]struct{}
	busy      map[*instance]struct{} // running an invocation
	closed    bool
	seq       int
}

// Start starts the function's first emulator and waits until it listens, so that a
// missing executable or emulator shows at once; further ones start on demand.
func Start(ctx context.Context, fn Function, opts Options) (*Pool, error) {
	if opts.RIE == "" {
		return nil, errors.New("lambdarie: Options.RIE is required")
	}
	if fn.Timeout <= 0 {
		fn.Timeout = 3 * time.Second
	}
	if fn.MemoryMB <= 0 {
		fn.MemoryMB = 128
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = 1
	}
	for _, p := range []string{opts.RIE, fn.Bootstrap} {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.Name, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("function %s: %s is not an executable file", fn.Name, p)
		}
	}
	p := &Pool{
		fn:        fn,
		opts:      opts,
		idle:      make(chan *instance, opts.MaxInstances),
		slots:     make(chan struct{}, opts.MaxInstances),
		instances: map[*instance]struct{}{},
		busy:      map[*instance]struct{}{},
	}
	for range opts.MaxInstances {
		p.slots <- struct{}{}
	}
	<-p.slots
	in, err := p.startInstance(ctx)
	if err != nil {
		return nil, err
	}
	p.idle <- in
	return p, nil
}

// Name is the function's name.
func (p *Pool) Name() string { return p.fn.Name }

// Invoke runs the function once with payload (a JSON event). An error means Lambda
// could not run the function (payload too large, emulator unavailable, ctx done); a
// function that ran and failed is a Result with FunctionError set. As in Lambda, a caller
// that stops waiting (an API Gateway integration timeout, say) does not stop the
// invocation: it runs to its end or to the function's timeout.
func (p *Pool) Invoke(ctx context.Context, payload []byte) (*Result, error) {
	if len(payload) > MaxPayloadBytes {
		return nil, ErrPayloadTooLarge
	}
	in, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		p.setBusy(in, true)
		res, err := in.invoke(context.WithoutCancel(ctx), payload, p.fn.Timeout)
		p.setBusy(in, false)
		if err != nil || in.exited() {
			// An emulator that hung or died is replaced rather than trusted again.
			p.discard(in)
		} else {
			p.idle <- in
		}
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) setBusy(in *instance, busy bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if busy {
		p.busy[in] = struct{}{}
	} else {
		delete(p.busy, in)
	}
}

// Kill ends every execution environment that is running an invocation now, emulator and
// function process at once (SIGKILL), as when Lambda's host dies mid-invocation: those
// invocations fail without an answer, and new environments start on demand. It returns
// how many it killed (the soak test's crash fault).
func (p *Pool) Kill() int {
	p.mu.Lock()
	ins := make([]*instance, 0, len(p.busy))
	for in := range p.busy {
		ins = append(ins, in)
	}
	p.mu.Unlock()
	for _, in := range ins {
		in.proc.Kill()
	}
	return len(ins)
}

func (p *Pool) acquire(ctx context.Context) (*instance, error) {
	for {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		// An idle instance first; a slot for a new one only when none is idle.
		select {
		case in := <-p.idle:
			if p.alive(in) {
				return in, nil
			}
			continue
		default:
		}
		select {
		case in := <-p.idle:
			if p.alive(in) {
				return in, nil
			}
		case <-p.slots:
			in, err := p.startInstance(ctx)
			if err != nil {
				p.slots <- struct{}{}
				return nil, err
			}
			return in, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// alive reports whether an instance taken from idle still runs, discarding it if not.
func (p *Pool) alive(in *instance) bool {
	if in.exited() {
		p.discard(in)
		return false
	}
	return true
}

// discard stops an instance and frees its slot.
func (p *Pool) discard(in *instance) {
	in.stop()
	p.mu.Lock()
	delete(p.instances, in)
	p.mu.Unlock()
	p.slots <- struct{}{}
}

// Close stops every emulator (and so every function process) of the pool.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	ins := make([]*instance, 0, len(p.instances))
	for in := range p.instances {
		ins = append(ins, in)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(in.stop)
	}
	wg.Wait()
	return nil
}

// instance is one emulator process serving one execution environment.
type instance struct {
	name   string
	proc   *child.Process
	url    string
	client *http.Client
	output sync.WaitGroup
}

func (in *instance) exited() bool {
	select {
	case <-in.proc.Done():
		return true
	default:
		return false
	}
}

// startInstance starts an emulator on two free loopback ports and waits until it listens.
// A port taken between choosing and binding makes the emulator exit; it is tried again.
func (p *Pool) startInstance(ctx context.Context) (*instance, error) {
	var lastErr error
	for range 3 {
		in, err := p.tryStart(ctx)
		if err == nil {
			return in, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (p *Pool) tryStart(ctx context.Context) (*instance, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", p.fn.Name, err)
	}
	emulator := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	runtimeAPI := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	cmd := exec.Command(p.opts.RIE,
		"--runtime-interface-emulator-address", emulator,
		"--runtime-api-address", runtimeAPI,
		p.fn.Bootstrap)
	cmd.Dir = p.opts.Dir
	cmd.Env = p.environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", p.fn.Name, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", p.fn.Name, err)
	}
	in := &instance{
		url: "http://" + emulator + InvokePath,
		// Timeouts are per invocation (the function's timeout), not per client.
		client: &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}},
	}
	in.output.Add(2)
	if in.proc, err = child.Start(cmd, &in.output); err != nil {
		return nil, fmt.Errorf("function %s: emulator: %w", p.fn.Name, err)
	}
	go copyLines(&in.output, stdout, p.opts.Output)
	go copyLines(&in.output, stderr, p.opts.EmulatorLog)
	p.mu.Lock()
	p.seq++
	in.name = fmt.Sprintf("%s#%d", p.fn.Name, p.seq)
	p.instances[in] = struct{}{}
	p.mu.Unlock()
	if err := in.waitListening(ctx, emulator, 10*time.Second); err != nil {
		p.mu.Lock()
		delete(p.instances, in)
		p.mu.Unlock()
		in.stop()
		return nil, fmt.Errorf("function %s: %w", p.fn.Name, err)
	}
	return in, nil
}

func (p *Pool) environ() []string {
	env := map[string]string{}
	// Only what any process needs from the caller's environment.
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range p.fn.Env {
		env[k] = v
	}
	env["AWS_LAMBDA_FUNCTION_NAME"] = p.fn.Name
	env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(p.fn.MemoryMB)
	// The emulator reads whole seconds; a partial second rounds up.
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int((p.fn.Timeout + time.Second - 1) / time.Second))
	// It switches to its multi-concurrency mode when this is set.
	delete(env, "AWS_LAMBDA_MAX_CONCURRENCY")
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func (in *instance) waitListening(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-in.proc.Done():
			return fmt.Errorf("emulator exited before listening on %s (%v)", addr, in.proc.Err())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("emulator not listening on %s after %s", addr, limit)
		}
	}
}

// stop ends the emulator: SIGTERM, on which it kills the function process itself, then
// SIGKILL if it lingers.
func (in *instance) stop() { in.proc.Stop(3 * time.Second) }

// grace is how long past the function's timeout Invoke waits for the emulator, which
// enforces the timeout itself and answers soon after.
const grace = 5 * time.Second

func (in *instance) invoke(ctx context.Context, payload []byte, timeout time.Duration) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+grace)
	defer cancel()
	id := NewUUID()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", id)
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: invoke: %w", in.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 2*MaxPayloadBytes))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", in.name, err)
	}
	return interpret(resp.StatusCode, body, id)
}

// interpret turns the emulator's answer into Lambda's: the emulator answers 200 with the
// function's error object, 200 with a plain "Task timed out" text, or 502 when the
// function crashed (with an error object, or nothing when it died during init).
func interpret(status int, body []byte, id string) (*Result, error) {
	res := &Result{Payload: body, RequestID: id}
	switch {
	case status == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out after")):
		res.FunctionError = FunctionErrorUnhandled
		res.Payload = errorObject("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: %s", id, strings.TrimSpace(string(body))))
	case status == http.StatusOK && isErrorObject(body):
		res.FunctionError = FunctionErrorUnhandled
	case status == http.StatusOK:
		if len(body) > MaxPayloadBytes {
			res.FunctionError = FunctionErrorUnhandled
			res.Payload = errorObject("Function.ResponseSizeTooLarge", fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", len(body), MaxPayloadBytes))
		}
	case status == http.StatusBadGateway:
		res.FunctionError = FunctionErrorUnhandled
		if !isErrorObject(body) {
			res.Payload = errorObject("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited without providing a reason", id))
		}
	default:
		return nil, fmt.Errorf("emulator answered %d: %s", status, bytes.TrimSpace(body))
	}
	return res, nil
}

// isErrorObject reports whether body is the error object a runtime posts for a failed
// invocation: an object with errorMessage and errorType and nothing but a stack trace
// beside them.
func isErrorObject(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, msg := m["errorMessage"]
	_, typ := m["errorType"]
	if !msg || !typ {
		return false
	}
	for k := range m {
		switch k {
		case "errorMessage", "errorType", "stackTrace", "requestId":
		default:
			return false
		}
	}
	return true
}

func errorObject(typ, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return b
}

// copyLines hands each line of r to sink (without its newline). Lines over 1 MiB are cut.
func copyLines(wg *sync.WaitGroup, r io.Reader, sink func([]byte)) {
	defer wg.Done()
	br := bufio.NewReaderSize(r, 64*1024)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line) < 1<<20 {
			line = append(line, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(line) > 0 && sink != nil {
			sink(bytes.TrimRight(line, "\r\n"))
		}
		line = line[:0]
		if err != nil {
			return
		}
	}
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
