package store

// This file is shared by every test of package store (one TestMain per package). The
// tests that need DynamoDB get it from the dynalite that pkg/local/standin starts on
// first use and stops after the last test; under -short they are skipped.
// sharedTestStore is a Store over one set of tables created once (fast: tests keep apart
// by using their own keys); newTestStore creates a fresh set of tables for a test that
// needs empty ones (for example to count or scan). Add tests in your own <topic>_test.go
// files; do not add a second TestMain.

import (
	"errors"
	"os"
	"sync"
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

// exactlyOnce makes n calls at once and checks that one of them succeeds and every other
// fails with want: the guard of a write that may happen only once.
func exactlyOnce(t *testing.T, name string, n int, want error, call func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = call(i) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			t.Errorf("%s error = %v, want nil or %v", name, err, want)
		}
	}
	if ok != 1 {
		t.Errorf("%s succeeded %d times out of %d, want exactly once", name, ok, n)
	}
}

// listPages follows a paged listing from its first page to its last and returns the
// pages.
func listPages[T any](t *testing.T, list func(cursor string) ([]T, string, error)) [][]T {
	t.Helper()
	var pages [][]T
	cursor := ""
	for {
		if len(pages) > 100 {
			t.Fatalf("list did not end after 100 pages")
		}
		page, next, err := list(cursor)
		if err != nil {
			t.Fatalf("list(%q) error = %v", cursor, err)
		}
		pages = append(pages, page)
		if next == "" {
			return pages
		}
		cursor = next
	}
}
