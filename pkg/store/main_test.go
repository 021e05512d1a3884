package store

// This file is shared by every test of package store (one TestMain per package): it
// starts one dynalite for the whole package. sharedTestStore is a Store over one set of
// tables created once (fast: tests keep apart by using their own keys); newTestStore
// creates a fresh set of tables for a test that needs empty ones (for example to count
// or scan), which can take seconds. Add tests in your own <topic>_test.go files; do not
// add a second TestMain.

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// testDDB is the SDK client of the package's dynalite.
var testDDB *dynamodb.Client

// testShared is the Store over the tables created once in TestMain.
var testShared *Store

var tableSeq atomic.Int64

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ddb, stop, err := standin.StartDynamoDB(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "store tests:", err)
		return 1
	}
	defer stop()
	testDDB = ddb
	env, err := standin.CreateTables(ctx, testDDB, "shared-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "store tests: create tables:", err)
		return 1
	}
	testShared = New(testDDB, TablesFrom(func(k string) string { return env[k] }))
	return m.Run()
}

// newTestStore creates every table of template.yaml under a prefix unique to this call
// and returns a Store over them.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prefix := fmt.Sprintf("t%d-", tableSeq.Add(1))
	env, err := standin.CreateTables(ctx, testDDB, prefix)
	if err != nil {
		t.Fatalf("CreateTables(%q) error = %v", prefix, err)
	}
	return New(testDDB, TablesFrom(func(k string) string { return env[k] }))
}

// sharedTestStore returns the Store over the tables shared by the package's tests.
func sharedTestStore() *Store { return testShared }
