package standin

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The stand-ins shared by the tests of one test binary (one package): each is started on
// first use, so that a package's pure tests never need Node, and stopped by Main when
// the package's tests are done.
var shared struct {
	mu       sync.Mutex
	inMain   bool
	servers  map[string]*sharedServer
	tables   map[string]map[string]string // SharedTables by prefix
	tableSeq atomic.Int64
}

type sharedServer struct {
	srv *Server
	err error
}

// Main runs a package's tests and then stops the stand-ins they started. A package whose
// tests call Dynalite, DynamoDB, Fauxqs, SQS, SharedTables or NewTables has
//
//	func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	defer stopShared()
	return m.Run()
}

func stopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	for _, s := range shared.servers {
		if s.srv != nil {
			_ = s.srv.Stop()
		}
	}
	shared.servers = nil
	shared.tables = nil
}

// sharedStandin returns the binary's stand-in name, starting it on first use. It skips the
// test under -short, and fails it when the stand-in cannot start (a start that failed
// once is not tried again).
func sharedStandin(t testing.TB, name string, start func(context.Context, Options) (*Server, error)) *Server {
	t.Helper()
	SkipShort(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatalf("standin: the package's TestMain must run the tests through standin.Main, which stops %s at the end", name)
	}
	s, ok := shared.servers[name]
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s = &sharedServer{}
		s.srv, s.err = start(ctx, Options{})
		if shared.servers == nil {
			shared.servers = map[string]*sharedServer{}
		}
		shared.servers[name] = s
	}
	if s.err != nil {
		t.Fatalf("start %s: %v", name, s.err)
	}
	return s.srv
}

// SkipShort skips t under -short: a test that needs the stand-ins (Node.js), directly or
// through the local stack, is not a pure test.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local stand-ins dynalite and fauxqs (Node.js): skipped under -short")
	}
}

// Dynalite returns the dynalite shared by the test binary's tests (see Main).
func Dynalite(t testing.TB) *Server {
	t.Helper()
	return sharedStandin(t, "dynalite", StartDynalite)
}

// Fauxqs returns the fauxqs shared by the test binary's tests (see Main).
func Fauxqs(t testing.TB) *Server {
	t.Helper()
	return sharedStandin(t, "fauxqs", StartFauxqs)
}

// DynamoDB returns a client of the shared dynalite.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(awsConfig(t, Dynalite(t)))
}

// SQS returns a client of the shared fauxqs.
func SQS(t testing.TB) *sqs.Client {
	t.Helper()
	return sqs.NewFromConfig(awsConfig(t, Fauxqs(t)))
}

// Root returns the module's root folder (ModuleRoot), failing the test when it is not
// found.
func Root(t testing.TB) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// OwnSQS starts a fauxqs for the test alone, stopped when the test ends, and returns a
// client of it: for a test whose queues and timing no other test may disturb. It skips
// the test under -short.
func OwnSQS(t testing.TB) *sqs.Client {
	t.Helper()
	SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := StartFauxqs(ctx, Options{})
	if err != nil {
		t.Fatalf("StartFauxqs() error = %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return sqs.NewFromConfig(awsConfig(t, srv))
}

func awsConfig(t testing.TB, s *Server) aws.Config {
	t.Helper()
	cfg, err := s.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// SharedTables creates every table of template.yaml in the shared dynalite once per test
// binary and prefix, and returns the lookup of their environment variables
// (PROJECTS_TABLE and the rest) for store.TablesFrom. Tests on shared tables keep apart
// by their own keys.
func SharedTables(t testing.TB, prefix string) func(string) string {
	t.Helper()
	db := DynamoDB(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	env, ok := shared.tables[prefix]
	if !ok {
		env = createTables(t, db, prefix)
		if shared.tables == nil {
			shared.tables = map[string]map[string]string{}
		}
		shared.tables[prefix] = env
	}
	return func(k string) string { return env[k] }
}

// NewTables creates a fresh set of every table of template.yaml in the shared dynalite,
// for a test that needs them empty, and returns the lookup of their environment variables
// for store.TablesFrom.
func NewTables(t testing.TB) func(string) string {
	t.Helper()
	env := createTables(t, DynamoDB(t), fmt.Sprintf("t%d-", shared.tableSeq.Add(1)))
	return func(k string) string { return env[k] }
}

func createTables(t testing.TB, db *dynamodb.Client, prefix string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := CreateTables(ctx, db, prefix)
	if err != nil {
		t.Fatalf("CreateTables(%q) error = %v", prefix, err)
	}
	return env
}
