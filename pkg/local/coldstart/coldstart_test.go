// Package coldstart measures each function's cold start under the Lambda Runtime
// Interface Emulator against a minimal aws-lambda-go function (./minimal), built the same
// way: `go test -run '^$' -bench ColdStart ./pkg/local/coldstart` (make bench-path).
package coldstart

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/devstack"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// firstRequests are what each function is first asked: an answer that needs no AWS or
// GitHub call beyond what init does (ingest refuses an unsigned delivery; the processor
// takes an empty batch; the minimal function answers anything).
var firstRequests = map[string]string{
	"minimal":   `{}`,
	"ingest":    `{"version":"2.0","routeKey":"POST /webhooks/github","rawPath":"/webhooks/github","headers":{"content-type":"application/json"},"requestContext":{"http":{"method":"POST","path":"/webhooks/github"}},"body":"{}"}`,
	"processor": `{"Records":[]}`,
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
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		b.Fatal(err)
	}
	res := devstack.Resources{
		Region: "us-east-1", Tables: map[string]string{}, Queues: map[string]devstack.QueueRes{},
		Parameters: map[string]string{},
		// Nothing listens there: a function that calls AWS before answering fails fast.
		Endpoints: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
		Secret: func(name string) (string, error) {
			if name == "GITHUB_APP_PRIVATE_KEY" {
				return string(key), nil
			}
			return "cold-start-secret", nil
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
	for _, name := range []string{"minimal", "ingest", "processor"} {
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
		bootstrap := filepath.Join(dir, name, "bootstrap")
		build(b, root, bootstrap, pkg)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				ctx := context.Background()
				pool, err := lambdarie.Start(ctx, lambdarie.Function{Name: name, Bootstrap: bootstrap, Env: env, MemoryMB: 512}, lambdarie.Options{RIE: rie})
				if err != nil {
					b.Fatal(err)
				}
				r, err := pool.Invoke(ctx, []byte(firstRequests[name]))
				if err != nil || r.FunctionError != "" {
					b.Fatalf("%s: first invoke = %v, %s %s", name, err, r.FunctionError, fmt.Sprint(string(r.Payload)))
				}
				pool.Close()
			}
		})
	}
}
