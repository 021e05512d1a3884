// Package coldstart measures each function's cold start under the Lambda Runtime
// Interface Emulator against a minimal aws-lambda-go function (./minimal), built the same
// way: `go test -run '^$' -bench ColdStart ./pkg/local/coldstart` (make bench, make
// bench-path).
package coldstart

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/devstack"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// functions are the functions measured, the minimal one first.
var functions = []string{"minimal", "ingest", "processor", "health", "api", "redeliver"}

// firstRequests are what each function is first asked: an answer that needs no AWS or
// GitHub call beyond what init does (ingest refuses an unsigned delivery; the processor
// takes an empty batch; health and api answer 404 to an unknown path; the minimal
// function answers anything). The redeliver job has no such request: it always asks
// GitHub for the App's recent deliveries, which a local server answers at once with none.
var firstRequests = map[string]string{
	"minimal":   `{}`,
	"ingest":    `{"version":"2.0","routeKey":"POST /webhooks/github","rawPath":"/webhooks/github","headers":{"content-type":"application/json"},"requestContext":{"http":{"method":"POST","path":"/webhooks/github"}},"body":"{}"}`,
	"processor": `{"Records":[]}`,
	"health":    `{"version":"2.0","rawPath":"/cold-start","requestContext":{"http":{"method":"GET","path":"/cold-start"}}}`,
	"api":       `{"version":"2.0","rawPath":"/cold-start","requestContext":{"http":{"method":"GET","path":"/cold-start"}}}`,
	"redeliver": `{"version":"0","id":"cold-start","detail-type":"Scheduled Event","source":"aws.events","time":"2026-01-01T00:00:00Z","detail":{}}`,
}

// build compiles pkg for this machine as the stack does (SAM's flags, the host's
// architecture: the emulator runs what this machine runs).
func build(b *testing.B, root, out, pkg string) {
	b.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
}

// BenchmarkColdStart: one op is a new emulator and function process, from start to the
// first answer.
func BenchmarkColdStart(b *testing.B) {
	root, err := standin.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	rie := filepath.Join(dir, "aws-lambda-rie")
	build(b, root, rie, "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie")
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	// GitHub, for the redeliver job's one call: no deliveries.
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	}))
	defer gh.Close()
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		b.Fatal(err)
	}
	res := devstack.Resources{
		Region: "us-east-1", Tables: map[string]string{}, Queues: map[string]devstack.QueueRes{},
		// The parameters without a default, as the local stack gives them; GitHub's URLs
		// point where nothing listens, so that GitHub is never reached.
		Parameters: map[string]string{
			"JwtIssuer": devstack.JWTIssuer, "JwtAudience": devstack.JWTAudience,
			"InstallSetupUrl": "http://127.0.0.1:9/setup",
			"GitHubApiUrl":    gh.URL + "/", "GitHubWebUrl": gh.URL + "/",
		},
		// Nothing listens there: a function that calls AWS before answering fails fast.
		Endpoints: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
		Secret: func(name string) (string, error) {
			if name == "GITHUB_APP_PRIVATE_KEY" {
				return string(key), nil
			}
			return "cold-start-secret-of-at-least-32-bytes", nil // api wants 32 bytes or more
		},
	}
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::DynamoDB::Table":
			res.Tables[id] = id
		case "AWS::SQS::Queue":
			res.Queues[id] = devstack.QueueRes{Name: id, URL: "http://127.0.0.1:9/" + devstack.AccountID + "/" + id,
				ARN: "arn:aws:sqs:us-east-1:" + devstack.AccountID + ":" + id}
		}
	}
	bootstraps, envs := map[string]string{}, map[string]map[string]string{}
	for _, name := range functions {
		env := map[string]string{}
		pkg := "./functions/" + name
		if name == "minimal" {
			pkg = "./pkg/local/coldstart/minimal"
		} else {
			var fn *samtemplate.Function
			for _, f := range tpl.Functions() {
				if f.Name == name {
					fn = &f
				}
			}
			if fn == nil {
				b.Fatalf("template.yaml has no function %s", name)
			}
			if env, err = devstack.FunctionEnv(tpl, *fn, res); err != nil {
				b.Fatalf("environment of %s: %v", name, err)
			}
			env["GITHUB_APP_ID"] = "1"
		}
		bootstraps[name] = filepath.Join(dir, name, "bootstrap")
		envs[name] = env
		build(b, root, bootstraps[name], pkg)
	}
	// One op starts every function once, one after the other, so that the machine's
	// load weighs on all of them alike; each function's time is the median over the ops,
	// and each ratio the median of the ratios within an op.
	took := map[string][]float64{}
	ratios := map[string][]float64{}
	b.ResetTimer()
	for b.Loop() {
		for _, name := range functions {
			start := time.Now()
			coldStart(b, name, bootstraps[name], envs[name], rie)
			took[name] = append(took[name], float64(time.Since(start).Microseconds())/1000)
			ratios[name] = append(ratios[name], took[name][len(took[name])-1]/took["minimal"][len(took["minimal"])-1])
		}
	}
	for _, name := range functions {
		b.ReportMetric(median(took[name]), "ms/"+name)
		if name != "minimal" {
			b.ReportMetric(median(ratios[name]), "x/"+name)
		}
	}
}

// coldStart starts a new emulator and function process and waits for the first answer.
func coldStart(b *testing.B, name, bootstrap string, env map[string]string, rie string) {
	b.Helper()
	ctx := context.Background()
	var (
		mu  sync.Mutex
		out []string // the function's lines, shown when it fails
	)
	keep := func(line []byte) { mu.Lock(); out = append(out, string(line)); mu.Unlock() }
	pool, err := lambdarie.Start(ctx, lambdarie.Function{Name: name, Bootstrap: bootstrap, Env: env, MemoryMB: 512}, lambdarie.Options{RIE: rie, Output: keep})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	r, err := pool.Invoke(ctx, []byte(firstRequests[name]))
	if err != nil || r.FunctionError != "" {
		mu.Lock()
		defer mu.Unlock()
		b.Fatalf("%s: first invoke = %v, function error %q: %s\n%s", name, err, r.FunctionError, r.Payload, strings.Join(out, "\n"))
	}
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
