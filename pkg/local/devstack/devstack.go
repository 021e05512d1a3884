package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/local/cwlocal"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/jwtauth"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// Local identity of the stack's JWT authorizer and dev user.
const (
	// DevUser is the RepoTrackr user of the dev bearer token (its sub claim).
	DevUser = "dev-user"
	// JWTIssuer and JWTAudience are the local values of the template's JwtIssuer and
	// JwtAudience parameters.
	JWTIssuer   = "https://auth.repotrackr.localhost/"
	JWTAudience = "repotrackr-local"
	// DevTokenTTL is the life of the dev token `up` writes to .devstack/token.
	DevTokenTTL = 365 * 24 * time.Hour
	// DevWebhookSecret is the webhook secret a new state directory starts with: the one
	// the sample deliveries in events/ingest are signed with, so that `make invoke` runs
	// them as they are. Put another value in .devstack/webhook-secret to change it.
	DevWebhookSecret = "repotrackr-dev-secret"
	// TablePrefix prefixes the local name of every table and queue.
	TablePrefix = "repotrackr-"
)

// DefaultAddr is where the local HTTP API listens; the other components take the next
// ports (GitHub sandbox +1, DynamoDB +2, SQS +3, CloudWatch +4).
const DefaultAddr = "127.0.0.1:3000"

// Options configures a Stack. The zero value, with Root found from the working
// directory, is `make dev`.
type Options struct {
	// Root is the module root (template.yaml, bin/, pkg/local/standin); found from the working
	// directory when empty.
	Root string
	// StateDir holds data, keys and logs (Root/.devstack when empty).
	StateDir string
	// Ephemeral keeps DynamoDB and SQS data in memory (tests).
	Ephemeral bool
	// Addr is the HTTP API's listen address (DefaultAddr when empty). With FreePorts every
	// component takes a free port instead, Addr included when it is empty.
	Addr      string
	FreePorts bool
	// BinDir holds <function>/bootstrap (Root/bin when empty).
	BinDir string
	// RIE is the emulator executable; built into StateDir/bin when empty.
	RIE string
	// Console receives progress and log lines; nil discards.
	Console io.Writer
	// VisibilityTimeout, when set, replaces every queue's visibility timeout (tests).
	VisibilityTimeout time.Duration
	// MaxConcurrency bounds each function's concurrent invocations (4 when zero).
	MaxConcurrency int
	// GitHub, when set, is a real GitHub App to talk to instead of the sandbox.
	GitHub *GitHubApp
	// IntegrationTimeout is the HTTP API's (30 s when zero).
	IntegrationTimeout time.Duration
	// FunctionEnv adds variables to (or overrides those of) a function's environment, by
	// function name (tests that scale the stack's waits: the soak shortens the processor's
	// PROCESSOR_LEASE along with the visibility timeout).
	FunctionEnv map[string]map[string]string
	// ScheduleEvery, when set, replaces the period of every rate() schedule (the soak runs
	// the redeliver job more often than every 10 minutes).
	ScheduleEvery time.Duration
	// NoWatch turns the sandbox's file watcher off: editing files under
	// .devstack/github/ then sends no push, for tests that send deliveries by hand.
	NoWatch bool
}

// GitHubApp is a real GitHub App's configuration.
type GitHubApp struct {
	AppID         string
	PrivateKey    []byte
	ClientID      string
	ClientSecret  string
	AppSlug       string
	APIURL        string // empty: https://api.github.com/
	WebURL        string // empty: https://github.com/
	WebhookSecret string // empty: the dev secret in .devstack/webhook-secret
}

// Stack is a running local stack.
type Stack struct {
	Info Info
	// Sandbox is the GitHub sandbox (nil with a real GitHub App).
	Sandbox *ghsandbox.Sandbox
	// WebhookSecret and Token are the dev webhook secret and the dev user's bearer token.
	WebhookSecret string
	Token         string
	// RegistrationToken opens the App registration routes (?token=), as the deployment's
	// AppRegistrationTokenSecret does.
	RegistrationToken string
	// Functions are the running functions by name.
	Functions map[string]*lambdarie.Pool
	// DynamoDB and SQS are SDK clients of the stand-ins.
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client

	opts     Options
	st       state
	con      *console
	tpl      *samtemplate.Template
	jwtKey   *jwtauth.Key
	cw       *cwlocal.Server
	closers  []namedCloser
	wg       sync.WaitGroup
	logs     []*logFile
	standins map[string]*standin.Server
	stopOnce sync.Once
	// baseOnly starts the stand-ins, the sandbox and the keys but no function (invoke).
	baseOnly bool
}

type namedCloser struct {
	name string
	fn   func() error
}

// StartError names the component that failed to start.
type StartError struct {
	Component string
	Err       error
}

func (e *StartError) Error() string { return e.Component + ": " + e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Start brings the whole stack up and returns once every component answers. On failure
// it stops what it started and returns a *StartError.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	return start(ctx, opts, false)
}

func start(ctx context.Context, opts Options, baseOnly bool) (*Stack, error) {
	s := &Stack{opts: opts, con: newConsole(opts.Console), Functions: map[string]*lambdarie.Pool{}, baseOnly: baseOnly,
		standins: map[string]*standin.Server{}}
	if err := s.start(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) fail(component string, err error) error {
	return &StartError{Component: component, Err: err}
}

func (s *Stack) onClose(name string, fn func() error) {
	s.closers = append(s.closers, namedCloser{name, fn})
}

// ports are the listen addresses of the components.
type ports struct {
	gateway, sandbox, dynamo, sqs, cloudwatch string
}

func (o Options) ports() (ports, error) {
	addr := o.Addr
	if addr == "" && !o.FreePorts {
		addr = DefaultAddr
	}
	if o.FreePorts {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		return ports{gateway: addr, sandbox: "127.0.0.1:0", dynamo: "127.0.0.1:0", sqs: "127.0.0.1:0", cloudwatch: "127.0.0.1:0"}, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ports{}, fmt.Errorf("address %q: %w", addr, err)
	}
	base, err := strconv.Atoi(p)
	if err != nil || base <= 0 || base > 65530 {
		return ports{}, fmt.Errorf("address %q: need a fixed port", addr)
	}
	at := func(n int) string { return net.JoinHostPort(host, strconv.Itoa(base+n)) }
	return ports{gateway: at(0), sandbox: at(1), dynamo: at(2), sqs: at(3), cloudwatch: at(4)}, nil
}

func (s *Stack) start(ctx context.Context) error {
	o := &s.opts
	var err error
	if o.Root == "" {
		if o.Root, err = standin.ModuleRoot(); err != nil {
			return s.fail("setup", err)
		}
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(o.Root, ".devstack")
	}
	if o.BinDir == "" {
		o.BinDir = filepath.Join(o.Root, "bin")
	}
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = 4
	}
	s.st = state{dir: o.StateDir}
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return s.fail("setup", err)
	}
	s.Info = Info{PID: os.Getpid(), StartedAt: time.Now().UTC(), DevUser: DevUser}

	s.con.progress("template: reading %s", filepath.Join(o.Root, "template.yaml"))
	if s.tpl, err = samtemplate.Load(filepath.Join(o.Root, "template.yaml")); err != nil {
		return s.fail("template", err)
	}
	functions := s.tpl.Functions()
	if len(functions) == 0 {
		return s.fail("template", errors.New("template.yaml declares no function"))
	}
	if !s.baseOnly {
		// Every executable is checked before anything starts.
		for _, fn := range functions {
			if err := s.checkBootstrap(fn); err != nil {
				return s.fail("function "+fn.Name, err)
			}
		}
	}

	p, err := o.ports()
	if err != nil {
		return s.fail("setup", err)
	}
	// The HTTP API's port is taken first: the sandbox's setup URL and the printed URLs
	// depend on it, and a busy port should fail before anything else starts.
	gwLn, err := net.Listen("tcp", p.gateway)
	if err != nil {
		return s.fail("http api", fmt.Errorf("listen on %s: %w (another `make dev` running? pick another address with -addr)", p.gateway, err))
	}
	s.onClose("http api listener", func() error { gwLn.Close(); return nil })
	s.Info.GatewayURL = "http://" + gwLn.Addr().String()

	if o.RIE == "" {
		path, err := EnsureRIE(ctx, o.Root, s.st.path(dirBin), func(version string) {
			s.con.progress("lambda: building the Runtime Interface Emulator %s into %s (first run only)", version, s.st.path(dirBin))
		})
		if err != nil {
			return s.fail("lambda emulator", err)
		}
		o.RIE = path
	}

	if err := s.startData(ctx, p); err != nil {
		return err
	}
	if err := s.startCloudWatch(p.cloudwatch); err != nil {
		return s.fail("cloudwatch", err)
	}
	if err := s.startGitHub(p.sandbox); err != nil {
		return s.fail("github", err)
	}
	if err := s.startAuth(); err != nil {
		return s.fail("auth", err)
	}
	s.Info.Resources.Endpoints = map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB":   s.Info.DynamoDBURL,
		"AWS_ENDPOINT_URL_SQS":        s.Info.SQSURL,
		"AWS_ENDPOINT_URL_CLOUDWATCH": s.Info.CloudWatchURL,
	}
	if s.baseOnly {
		return nil
	}
	if err := s.startFunctions(ctx, functions); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.onClose("background work", func() error { cancel(); s.wg.Wait(); return nil })
	if err := s.startGateway(gwLn, functions); err != nil {
		return s.fail("http api", err)
	}
	if err := s.startPollers(runCtx, functions); err != nil {
		return s.fail("sqs trigger", err)
	}
	s.startSchedules(runCtx, functions)
	if err := s.st.writeInfo(&s.Info); err != nil {
		return s.fail("setup", err)
	}
	s.onClose("stack info", func() error {
		err := os.Remove(s.st.path(fileInfo))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	})
	return nil
}

// checkBootstrap says what is missing when a function's executable is.
func (s *Stack) checkBootstrap(fn samtemplate.Function) error {
	if _, err := os.Stat(s.bootstrap(fn.Name)); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(s.opts.Root, "functions", fn.Name)); err != nil {
		return fmt.Errorf("template.yaml declares %s, but functions/%s does not exist", fn.LogicalID, fn.Name)
	}
	return fmt.Errorf("%s not found: build the functions first (`make build`)", s.bootstrap(fn.Name))
}

func (s *Stack) bootstrap(name string) string {
	return filepath.Join(s.opts.BinDir, name, "bootstrap")
}

// Close stops every process and server the stack started, in reverse order, and keeps
// the data under the state directory.
func (s *Stack) Close() error {
	var errs []error
	s.stopOnce.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			c := s.closers[i]
			if err := c.fn(); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", c.name, err))
			}
		}
		for _, l := range s.logs {
			_ = l.Close()
		}
	})
	return errors.Join(errs...)
}

// Summary is what `up` prints once the stack runs.
func (s *Stack) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nRepoTrackr local stack is up (Ctrl-C stops it; data stays in %s)\n\n", s.opts.StateDir)
	fmt.Fprintf(&b, "  HTTP API        %s\n", s.Info.GatewayURL)
	fmt.Fprintf(&b, "  webhook URL     %s/webhooks/github\n", s.Info.GatewayURL)
	fmt.Fprintf(&b, "  health          %s/webhooks/github/health\n", s.Info.GatewayURL)
	fmt.Fprintf(&b, "  front end       %s%s (relays GitHub's redirect after an installation; open the install URL with #token=<your token>)\n", s.Info.GatewayURL, RelayPath)
	if s.Info.GitHubMode == ModeSandbox {
		fmt.Fprintf(&b, "  GitHub sandbox  %s (demo repository %s)\n", s.Info.GitHubAPIURL, DemoRepo)
	} else {
		fmt.Fprintf(&b, "  GitHub          %s\n", s.Info.GitHubAPIURL)
	}
	fmt.Fprintf(&b, "  DynamoDB        %s\n", s.Info.DynamoDBURL)
	fmt.Fprintf(&b, "  SQS             %s\n", s.Info.SQSURL)
	if s.Info.CloudWatchURL != "" {
		fmt.Fprintf(&b, "  CloudWatch      %s\n", s.Info.CloudWatchURL)
	}
	fmt.Fprintf(&b, "  logs            %s\n\n", s.st.path(dirLogs))
	fmt.Fprintf(&b, "  webhook secret  %s   (%s)\n", s.WebhookSecret, s.st.path(fileWebhookSecret))
	fmt.Fprintf(&b, "  bearer token    (user %s, %s)\n  %s\n", DevUser, s.st.path(fileToken), s.Token)
	fmt.Fprintf(&b, "  App registration token  (%s)\n  %s\n\n", s.st.path(fileRegistrationToken), s.RegistrationToken)
	fmt.Fprintf(&b, "  try:  curl -H \"Authorization: Bearer $(cat .devstack/token)\" %s/projects\n", s.Info.GatewayURL)
	fmt.Fprintf(&b, "        make demo    (in another terminal)\n\n")
	return b.String()
}

// QueueURL is the URL of the queue with the template's logical id.
func (s *Stack) QueueURL(logicalID string) string { return s.Info.Resources.Queues[logicalID].URL }

// QueueDepth is the number of messages visible plus in flight in a queue.
func (s *Stack) QueueDepth(ctx context.Context, logicalID string) (int, error) {
	return queueDepth(ctx, s.SQS, s.QueueURL(logicalID))
}
