package processor

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
)

// sandboxEnv is a test env whose GitHub is the sandbox, spoken to by the real App
// client: App JWT, installation tokens and all.
func sandboxEnv(t *testing.T) (*testEnv, *ghsandbox.Sandbox) {
	t.Helper()
	e, sb, _ := sandboxEnvWith(t, nil)
	return e, sb
}

// sandboxEnvWith is sandboxEnv with the client returned, tune setting its logger,
// metrics or transport before it is built.
func sandboxEnvWith(t *testing.T, tune func(*ghapp.Config)) (*testEnv, *ghsandbox.Sandbox, *ghapp.Client) {
	t.Helper()
	sb, url := ghsandbox.NewServer(t, ghsandbox.Options{})
	cfg := ghapp.Config{
		AppID: sb.AppID(), PrivateKey: sb.PrivateKeyPEM(), APIURL: url, WebURL: url,
		MaxRetryWait: 50 * time.Millisecond, HTTPClient: &http.Client{Timeout: 10 * time.Second},
	}
	if tune != nil {
		tune(&cfg)
	}
	client, err := ghapp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnvWith(t, func(*fakeGitHub) GitHub { return client })
	e.owner = "sandbox-org"
	e.name = strings.ToLower(e.name)
	// The sandbox's clock is the real one; the processor's only orders its own records.
	e.clock.Set(time.Now().UTC())
	return e, sb, client
}

// ownTables gives e tables of its own: installation 1, the sandbox's, is every sandbox
// test's, and an installation event reads all of its projects, so a test that counts
// what a delivery does must not see other tests' projects.
func ownTables(t *testing.T, e *testEnv) {
	t.Helper()
	e.tables = store.TablesFrom(standin.NewTables(t))
	e.st = store.New(standin.DynamoDB(t), e.tables).WithClock(e.clock.Now)
}

// storeThrough is a store over e's tables whose every DynamoDB request goes through rt.
func storeThrough(t *testing.T, e *testEnv, rt http.RoundTripper) *store.Store {
	t.Helper()
	cfg, err := standin.Dynalite(t).AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPClient = &http.Client{Transport: rt}
	return store.New(dynamodb.NewFromConfig(cfg), e.tables).WithClock(e.clock.Now)
}

// seedPlanProject commits the plan and two manifests to the sandbox, registers a project
// on them and reads it once (which also fetches the installation token, once an hour),
// and returns the writer of further commits.
func seedPlanProject(t *testing.T, e *testEnv, sb *ghsandbox.Sandbox) func(path, content string) {
	t.Helper()
	write := sandboxWriter(t, e, sb)
	write("docs/plan.md", planV1)
	write("go.mod", goMod)
	write("services/web/package.json", packageJSON)
	pr := e.addProject(nil)
	if _, err := e.p.SyncProject(e.ctx, pr, "api-1"); err != nil {
		t.Fatalf("SyncProject() error = %v", err)
	}
	return write
}

// sandboxPush is the real push payload as the sandbox's GitHub would send it: to main of
// sandbox-org/repo, installation 1, the repository's id as the sandbox gives it.
func sandboxPush(tb testing.TB, repo string) map[string]any {
	tb.Helper()
	m := loadPayload(tb, "push", "with-new-branch.payload.json")
	set(m, "ref", "refs/heads/main")
	set(m, "repository.full_name", "sandbox-org/"+repo)
	set(m, "repository.name", repo)
	set(m, "repository.id", nameRepoID(repo))
	set(m, "repository.default_branch", "main")
	set(m, "installation", map[string]any{"id": 1})
	set(m, "created", false)
	return m
}
