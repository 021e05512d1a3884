// Package devstack runs the whole pipeline on one machine, offline, from real parts:
// dynalite (DynamoDB) and fauxqs (SQS) through pkg/local/standin, every function's real
// bootstrap under the Lambda Runtime Interface Emulator (lambdarie), a local HTTP API
// (gateway) and SQS event source mapping (poller), a CloudWatch stand-in (pkg/local/cwlocal)
// fed with the functions' EMF lines, and the GitHub sandbox (pkg/local/ghsandbox) — all wired
// from template.yaml through pkg/local/samtemplate, so the tables, queues, routes, triggers and
// environment are the deployment's, not a second hand-kept list.
//
// State lives under .devstack: DynamoDB and SQS data, keys, secrets, logs and the
// sandbox's repositories, so a restart keeps everything.
package devstack

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/local/cwlocal"
	"github.com/repotrackr/github-integration/pkg/local/gateway"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/jwtauth"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/poller"
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
	s := &Stack{opts: opts, con: newConsole(opts.Console), Functions: map[string]*lambdarie.Pool{}, baseOnly: baseOnly}
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

// startData starts DynamoDB and SQS and creates the template's tables and queues.
func (s *Stack) startData(ctx context.Context, p ports) error {
	dataDir := func(sub string) string {
		if s.opts.Ephemeral {
			return ""
		}
		return s.st.path(sub)
	}
	logs, err := openLog(s.st.path(dirLogs), "standins.log")
	if err != nil {
		return s.fail("setup", err)
	}
	s.logs = append(s.logs, logs)
	s.Info.Resources.Region = standin.Region

	s.con.progress("dynamodb: starting dynalite")
	db, err := standin.StartDynalite(ctx, standin.Options{Port: portOf(p.dynamo), DataDir: dataDir(dirDynamoDB), Log: logs})
	if err != nil {
		return s.fail("dynamodb (dynalite)", s.hintLog(err))
	}
	s.onClose("dynalite", db.Stop)
	s.Info.DynamoDBURL = db.URL
	dbCfg, err := db.AWSConfig(ctx)
	if err != nil {
		return s.fail("dynamodb (dynalite)", err)
	}
	s.DynamoDB = dynamodb.NewFromConfig(dbCfg)
	if _, err := standin.CreateTables(ctx, s.DynamoDB, TablePrefix); err != nil {
		return s.fail("dynamodb tables", fmt.Errorf("%w (if template.yaml changed a table, `make dev-reset` starts afresh)", err))
	}
	s.Info.Resources.Tables = map[string]string{}
	for _, id := range s.tpl.IDs("AWS::DynamoDB::Table") {
		s.Info.Resources.Tables[id] = TablePrefix + id
	}
	s.con.progress("dynamodb: %s, %d tables", db.URL, len(s.Info.Resources.Tables))

	s.con.progress("sqs: starting fauxqs")
	q, err := standin.StartFauxqs(ctx, standin.Options{Port: portOf(p.sqs), DataDir: dataDir(dirSQS), Log: logs})
	if err != nil {
		return s.fail("sqs (fauxqs)", s.hintLog(err))
	}
	s.onClose("fauxqs", q.Stop)
	s.Info.SQSURL = q.URL
	qCfg, err := q.AWSConfig(ctx)
	if err != nil {
		return s.fail("sqs (fauxqs)", err)
	}
	s.SQS = sqs.NewFromConfig(qCfg)
	queues, err := s.createQueues(ctx)
	if err != nil {
		return s.fail("sqs queues", err)
	}
	s.Info.Resources.Queues = queues
	s.con.progress("sqs: %s, %d queues", q.URL, len(queues))
	return nil
}

// hintLog points at the stand-ins' log, unless they are not installed at all.
func (s *Stack) hintLog(err error) error {
	if errors.Is(err, standin.ErrNotInstalled) {
		return err
	}
	return fmt.Errorf("%w (see %s)", err, s.st.path(dirLogs+"/standins.log"))
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// startGitHub starts the GitHub sandbox, or checks the real App's configuration.
func (s *Stack) startGitHub(addr string) error {
	res := &s.Info.Resources
	res.Parameters = map[string]string{
		"JwtIssuer":   JWTIssuer,
		"JwtAudience": JWTAudience,
	}
	if gh := s.opts.GitHub; gh != nil {
		s.Info.GitHubMode = ModeGitHub
		s.Info.GitHubAPIURL = firstNonEmpty(gh.APIURL, "https://api.github.com/")
		s.Info.GitHubWebURL = firstNonEmpty(gh.WebURL, "https://github.com/")
		res.Parameters["GitHubAppId"] = gh.AppID
		res.Parameters["GitHubClientId"] = gh.ClientID
		res.Parameters["GitHubAppSlug"] = gh.AppSlug
		res.Parameters["GitHubApiUrl"] = s.Info.GitHubAPIURL
		res.Parameters["GitHubWebUrl"] = s.Info.GitHubWebURL
		s.con.progress("github: using the GitHub App %s at %s (no sandbox)", gh.AppID, s.Info.GitHubAPIURL)
		return nil
	}
	s.Info.GitHubMode = ModeSandbox
	root := s.st.path(dirGitHub)
	seeded, err := seedDemo(root)
	if err != nil {
		return err
	}
	key, err := s.st.appKey()
	if err != nil {
		return err
	}
	sb, err := ghsandbox.New(ghsandbox.Options{
		Root:          root,
		PrivateKeyPEM: key,
		SetupURL:      s.Info.GatewayURL + "/auth/github/install",
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.onClose("github sandbox", func() error { return srv.Close() })
	s.Sandbox = sb
	url := "http://" + ln.Addr().String() + "/"
	s.Info.GitHubAPIURL, s.Info.GitHubWebURL = url, url
	s.Info.DemoRepo = DemoRepo
	res.Parameters["GitHubAppId"] = strconv.FormatInt(sb.AppID(), 10)
	res.Parameters["GitHubClientId"] = sb.ClientID()
	res.Parameters["GitHubAppSlug"] = sb.AppSlug()
	res.Parameters["GitHubApiUrl"] = url
	res.Parameters["GitHubWebUrl"] = url
	note := ""
	if seeded {
		note = ", seeded " + DemoRepo
	}
	s.con.progress("github: sandbox on %s (repositories in %s%s)", url, root, note)
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// appKey is the sandbox App's private key, kept so that a restart keeps the App's
// identity (functions' cached tokens stay valid across a restart of the sandbox alone).
func (st state) appKey() ([]byte, error) {
	p := st.path(fileAppKey)
	if b, err := os.ReadFile(p); err == nil {
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read App key: %w", err)
	}
	// An RSA key in PEM, as GitHub hands an App its key.
	if _, err := jwtauth.LoadOrCreateKey(p); err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// startAuth loads the JWT key and the webhook secret and issues the dev token.
func (s *Stack) startAuth() error {
	var err error
	if s.jwtKey, err = jwtauth.LoadOrCreateKey(s.st.path(fileJWTKey)); err != nil {
		return err
	}
	if gh := s.opts.GitHub; gh != nil && gh.WebhookSecret != "" {
		s.WebhookSecret = gh.WebhookSecret
		if err := writePrivate(s.st.path(fileWebhookSecret), []byte(s.WebhookSecret+"\n")); err != nil {
			return err
		}
	} else if s.WebhookSecret, err = s.st.webhookSecret(); err != nil {
		return err
	}
	if s.Token, err = s.DevToken(DevUser, DevTokenTTL); err != nil {
		return err
	}
	if err := writePrivate(s.st.path(fileToken), []byte(s.Token+"\n")); err != nil {
		return err
	}
	s.Info.Resources.Secret = s.secret
	return nil
}

// DevToken signs a bearer token for user that the stack's JWT authorizer accepts.
func (s *Stack) DevToken(user string, ttl time.Duration) (string, error) {
	return SignToken(s.opts.StateDir, user, ttl)
}

// secret is the local value of a function secret (NAME of a NAME_ARN variable).
func (s *Stack) secret(name string) (string, error) {
	return localSecret(s.st, s.opts.GitHub, name)
}

// localSecret is the local value of a function secret: the dev webhook secret, the App's
// key and OAuth secret (the sandbox's, or the real App's), or else a random value kept
// under .devstack/secrets.
func localSecret(st state, gh *GitHubApp, name string) (string, error) {
	switch name {
	case "GITHUB_WEBHOOK_SECRET":
		if gh != nil && gh.WebhookSecret != "" {
			return gh.WebhookSecret, nil
		}
		return st.webhookSecret()
	case "GITHUB_APP_PRIVATE_KEY":
		if gh != nil {
			return string(gh.PrivateKey), nil
		}
		key, err := st.appKey()
		return string(key), err
	case "GITHUB_CLIENT_SECRET":
		if gh != nil {
			return gh.ClientSecret, nil
		}
		return ghsandbox.DefaultClientSecret, nil
	}
	return st.namedSecret(name)
}

// startFunctions starts every function of the template under the emulator.
func (s *Stack) startFunctions(ctx context.Context, functions []samtemplate.Function) error {
	width := 10
	for _, fn := range functions {
		width = max(width, len(fn.Name)+2)
	}
	s.con.width = width
	for _, fn := range functions {
		env, err := FunctionEnv(s.tpl, fn, s.Info.Resources)
		if err != nil {
			return s.fail("function "+fn.Name, err)
		}
		log, err := openLog(s.st.path(dirLogs), fn.Name+".log")
		if err != nil {
			return s.fail("function "+fn.Name, err)
		}
		s.logs = append(s.logs, log)
		pool, err := lambdarie.Start(ctx, lambdarie.Function{
			Name:      fn.Name,
			Bootstrap: s.bootstrap(fn.Name),
			Env:       env,
			Timeout:   time.Duration(fn.Timeout) * time.Second,
			MemoryMB:  fn.MemorySize,
		}, lambdarie.Options{
			RIE:          s.opts.RIE,
			Dir:          s.opts.Root,
			MaxInstances: s.opts.MaxConcurrency,
			Output:       s.functionOutput(fn.Name, log),
			EmulatorLog:  s.emulatorOutput(fn.Name, log),
		})
		if err != nil {
			return s.fail("function "+fn.Name, err)
		}
		s.onClose("function "+fn.Name, pool.Close)
		s.Functions[fn.Name] = pool
		s.con.progress("lambda: %s (%s, timeout %ds) under the emulator", fn.Name, fn.LogicalID, fn.Timeout)
	}
	return nil
}

// functionOutput shows a function's log lines on the console, keeps them all in its log
// file, and hands them to the CloudWatch stand-in, which reads the EMF ones. EMF lines
// and the emulator's START, END and REPORT lines stay off the console (they are in the
// log file).
func (s *Stack) functionOutput(name string, log *logFile) func([]byte) {
	return func(line []byte) {
		log.line(line)
		s.metricLine(line)
		if isEMF(line) || hasPrefix(line, "START RequestId:") || hasPrefix(line, "END RequestId:") || hasPrefix(line, "REPORT RequestId:") {
			return
		}
		s.con.line(name, line)
	}
}

// emulatorOutput keeps the emulator's own log in the function's log file and shows only
// its warnings and errors (a crashed or timed-out function).
func (s *Stack) emulatorOutput(name string, log *logFile) func([]byte) {
	return func(line []byte) {
		log.line(line)
		if strings.Contains(string(line), "[ERROR]") {
			s.con.line(name, line)
		}
	}
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func isEMF(line []byte) bool { return strings.Contains(string(line), `"_aws":{`) }

// startGateway serves the template's HttpApi routes.
func (s *Stack) startGateway(ln net.Listener, functions []samtemplate.Function) error {
	routes, err := Routes(s.tpl, functions)
	if err != nil {
		return err
	}
	auths, err := s.authorizers()
	if err != nil {
		return err
	}
	invokers := map[string]gateway.Invoker{}
	for name, p := range s.Functions {
		invokers[name] = p
	}
	gw, err := gateway.New(gateway.Config{
		Routes:             routes,
		Functions:          invokers,
		Authorizers:        auths,
		IntegrationTimeout: s.opts.IntegrationTimeout,
		Log:                s.con.logger("http api"),
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.onClose("http api", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	})
	for _, r := range gw.Routes() {
		auth := ""
		if r.Authorizer != "" {
			auth = " (" + r.Authorizer + ")"
		}
		s.con.progress("http api: %-6s %s -> %s%s", r.Method, r.Path, r.Function, auth)
	}
	return nil
}

// authorizers are the template's JWT authorizers, checking tokens of the local key.
func (s *Stack) authorizers() (map[string]*jwtauth.Authorizer, error) {
	out := map[string]*jwtauth.Authorizer{}
	for _, api := range s.tpl.HTTPAPIs() {
		for name, a := range api.Authorizers {
			iss, err := Resolve(s.tpl, a.Issuer, s.Info.Resources)
			if err != nil {
				return nil, fmt.Errorf("authorizer %s issuer: %w", name, err)
			}
			aud, err := Resolve(s.tpl, a.Audience, s.Info.Resources)
			if err != nil {
				return nil, fmt.Errorf("authorizer %s audience: %w", name, err)
			}
			out[name] = &jwtauth.Authorizer{
				Issuer:   iss,
				Audience: strings.Split(aud, ","),
				Keys:     map[string]*rsa.PublicKey{s.jwtKey.KID(): s.jwtKey.Public()},
			}
		}
	}
	return out, nil
}

// Routes are the HttpApi routes of the functions, each with its authorizer: the event's
// own, else the API's default; "NONE" means none.
func Routes(t *samtemplate.Template, functions []samtemplate.Function) ([]gateway.Route, error) {
	apis := t.HTTPAPIs()
	defaultAuth := ""
	if len(apis) == 1 {
		defaultAuth = apis[0].DefaultAuthorizer
	}
	var routes []gateway.Route
	for _, fn := range functions {
		for _, e := range fn.Events {
			if e.Type != "HttpApi" {
				continue
			}
			if e.Path == "" {
				return nil, fmt.Errorf("%s event %s: the $default route is not supported locally", fn.LogicalID, e.Name)
			}
			method := e.Method
			if method == "*" || method == "" {
				method = "ANY"
			}
			auth := e.Authorizer
			if auth == "" {
				auth = defaultAuth
			}
			if auth == "NONE" {
				auth = ""
			}
			routes = append(routes, gateway.Route{Method: method, Path: e.Path, Authorizer: auth, Scopes: e.Scopes, Function: fn.Name})
		}
	}
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	return routes, nil
}

// startPollers starts one event source mapping per SQS event of a function.
func (s *Stack) startPollers(ctx context.Context, functions []samtemplate.Function) error {
	for _, fn := range functions {
		for _, e := range fn.Events {
			if e.Type != "SQS" {
				continue
			}
			q, ok := s.Info.Resources.Queues[e.Queue]
			if !ok {
				return fmt.Errorf("%s event %s: queue %q is not in the template", fn.LogicalID, e.Name, e.Queue)
			}
			p, err := poller.New(poller.Config{
				Queue:                   s.SQS,
				QueueURL:                q.URL,
				QueueARN:                q.ARN,
				Region:                  s.Info.Resources.Region,
				Function:                s.Functions[fn.Name],
				BatchSize:               e.BatchSize,
				BatchingWindow:          time.Duration(e.BatchingWindowSeconds) * time.Second,
				ReportBatchItemFailures: e.ReportBatchFailures,
				Pollers:                 2,
				Log:                     s.con.logger("sqs->" + fn.Name),
			})
			if err != nil {
				return err
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				p.Run(ctx)
			}()
			s.con.progress("sqs trigger: %s -> %s (batch %d, window %ds, partial failures %t)", q.Name, fn.Name, e.BatchSize, e.BatchingWindowSeconds, e.ReportBatchFailures)
		}
	}
	return nil
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
	fmt.Fprintf(&b, "  bearer token    (user %s, %s)\n  %s\n\n", DevUser, s.st.path(fileToken), s.Token)
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
