package store

// This file is shared by every test of package store (one TestMain per package). The
// tests that need DynamoDB get it from the dynalite that pkg/local/standin starts on
// first use and stops after the last test; under -short they are skipped.
// sharedTestStore is a Store over one set of tables created once (fast: tests keep apart
// by using their own keys); newTestStore creates a fresh set of tables for a test that
// needs empty ones (for example to count or scan). Add tests in your own <topic>_test.go
// files; do not add a second TestMain.

import (
	"os"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }

// newTestStore creates every table of template.yaml under a prefix unique to this call
// and returns a Store over them.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	return New(standin.DynamoDB(t), TablesFrom(standin.NewTables(t)))
}

// sharedTestStore returns the Store over the tables shared by the package's tests.
func sharedTestStore(t testing.TB) *Store {
	t.Helper()
	return New(standin.DynamoDB(t), TablesFrom(standin.SharedTables(t, "shared-")))
}
