package standin

import (
	"os"
	"path/filepath"
	"testing"
)

// NodePackage returns the directory of an npm package that `make deps` installs into
// node_modules (e.g. "@octokit/openapi", GitHub's OpenAPI description). It skips t under
// -short, like every test that needs the stand-ins' packages, and fails t when the package
// is missing.
func NodePackage(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs the npm package %s (make deps): skipped under -short", name)
	}
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "node_modules", filepath.FromSlash(name))
	if _, err := os.Stat(filepath.Join(p, "package.json")); err != nil {
		t.Fatalf("npm package %s: %v", name, ErrNotInstalled)
	}
	return p
}
