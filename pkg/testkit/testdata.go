package testkit

import (
	"os"
	"path/filepath"
	"testing"
)

// Testdata returns the file name of the testdata folder of the package under test (a
// test's working directory is its package's folder), failing the test when it cannot be
// read.
func Testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}
