// Nothing under pkg/local ships: it only runs the system on one machine. This test guards
// that boundary.

package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

const module = "github.com/repotrackr/github-integration"

// shipOnly reports whether code that ships to AWS may not import path: the local-only
// packages, and the test-support package.
func shipOnly(path string) bool {
	for _, p := range []string{module + "/pkg/local", module + "/pkg/testkit"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// TestShippedCodeImportsNoLocalPackage reads the import graph of the functions, as they
// are built for Lambda (non-test files only), and fails naming every chain from a
// function to a package under pkg/local or to pkg/testkit.
func TestShippedCodeImportsNoLocalPackage(t *testing.T) {
	root := standin.Root(t)
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Standard", "-tags", "lambda.norpc", "./functions/...")
	cmd.Dir = root
	// The module cache serves the graph; the test never downloads.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./functions/...: %v\n%s", err, stderr.String())
	}
	graph, roots, err := readGraph(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) == 0 {
		t.Fatalf("go list -deps ./functions/... listed no function")
	}
	for _, chain := range forbiddenChains(graph, roots, shipOnly) {
		t.Errorf("shipped code imports local-only code: %s", strings.Join(chain, " -> "))
	}
}

// readGraph decodes the JSON stream of go list -deps into the module's packages and their
// imports, and the function packages (the roots).
func readGraph(out []byte) (map[string][]string, []string, error) {
	graph := map[string][]string{}
	var roots []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Standard   bool
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, err
		}
		if p.Standard || !strings.HasPrefix(p.ImportPath, module+"/") {
			continue
		}
		graph[p.ImportPath] = p.Imports
		if strings.HasPrefix(p.ImportPath, module+"/functions/") {
			roots = append(roots, p.ImportPath)
		}
	}
	slices.Sort(roots)
	return graph, roots, nil
}

// forbiddenChains returns, for every package of graph that bad refuses and a root reaches,
// one shortest chain of imports from a root to it, with the module prefix cut.
func forbiddenChains(graph map[string][]string, roots []string, bad func(string) bool) [][]string {
	from := map[string]string{}
	seen := map[string]bool{}
	queue := slices.Clone(roots)
	for _, r := range roots {
		seen[r] = true
	}
	var found []string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if bad(p) {
			found = append(found, p)
			continue
		}
		for _, imp := range graph[p] {
			if !seen[imp] {
				seen[imp] = true
				from[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	slices.Sort(found)
	var chains [][]string
	for _, p := range found {
		var chain []string
		for q := p; q != ""; q = from[q] {
			chain = append(chain, strings.TrimPrefix(q, module+"/"))
		}
		slices.Reverse(chain)
		chains = append(chains, chain)
	}
	return chains
}

func TestForbiddenChains(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	graph := map[string][]string{
		m("functions/api"):    {"fmt", m("pkg/api")},
		m("functions/ingest"): {m("pkg/ingest")},
		m("pkg/api"):          {m("pkg/store"), m("pkg/local/ghsandbox")},
		m("pkg/ingest"):       {m("pkg/webhook")},
		m("pkg/store"):        {m("pkg/testkit")},
	}
	roots := []string{m("functions/api"), m("functions/ingest")}
	got := forbiddenChains(graph, roots, shipOnly)
	want := [][]string{
		{"functions/api", "pkg/api", "pkg/local/ghsandbox"},
		{"functions/api", "pkg/api", "pkg/store", "pkg/testkit"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("forbiddenChains() = %v, want %v", got, want)
	}
	if got := forbiddenChains(graph, []string{m("functions/ingest")}, shipOnly); len(got) != 0 {
		t.Errorf("forbiddenChains(ingest only) = %v, want none", got)
	}
}
