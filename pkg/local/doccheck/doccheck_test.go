package doccheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRepositoryLinks is the check itself: every relative link in every Markdown file of
// the repository (tracked, or new and not ignored) resolves.
func TestRepositoryLinks(t *testing.T) {
	root, files := repository(t)
	problems, err := Check(root, files)
	if err != nil {
		t.Fatalf("Check(%s) error: %v", root, err)
	}
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	docs := 0
	for _, f := range files {
		if IsDoc(f) {
			docs++
		}
	}
	if docs < 2 {
		t.Errorf("Check saw %d Markdown files, want the README and more", docs)
	}
}

// MaxFrontDoorLines is the most lines the root README may have: it is the front door,
// and reference belongs beside the code it describes (package docs and folder READMEs).
const MaxFrontDoorLines = 300

func TestFrontDoorLength(t *testing.T) {
	root, _ := repository(t)
	src, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(src, []byte("\n")); n > MaxFrontDoorLines {
		t.Errorf("README.md has %d lines, want at most %d: move reference into the folder READMEs", n, MaxFrontDoorLines)
	}
}

// repository returns the module root and its files as git lists them: tracked ones, and
// new ones that are not ignored, which still exist in the working tree.
func repository(t *testing.T) (string, []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed to list the repository's files: %v", err)
	}
	// The test runs in its package's folder; the module root is the nearest go.mod above.
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("no go.mod above the test's folder")
		}
		root = parent
	}
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v", root, err)
	}
	var files []string
	for _, f := range strings.Split(string(bytes.TrimRight(out, "\x00")), "\x00") {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(f))); err == nil {
			files = append(files, f)
		}
	}
	return root, files
}

func TestSlug(t *testing.T) {
	tests := []struct{ heading, want string }{
		{"Configuration", "configuration"},
		{"Health: GET /webhooks/github/health", "health-get-webhooksgithubhealth"},
		{"Size budget: one SQS message, always", "size-budget-one-sqs-message-always"},
		{"Registering the App (manifest flow)", "registering-the-app-manifest-flow"},
		{"The envelope (pkg/envelope, schema version v: 1)", "the-envelope-pkgenvelope-schema-version-v-1"},
		{"make invoke FN=<function> EVENT=events/<file>.json", "make-invoke-fnfunction-eventeventsfilejson"},
		{"Local stack — what runs", "local-stack--what-runs"},
		{"snake_case and kebab-case", "snake_case-and-kebab-case"},
		{"Überblick über Größen", "überblick-über-größen"},
	}
	for _, tt := range tests {
		if got := Slug(tt.heading); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

func TestIsDoc(t *testing.T) {
	tests := []struct {
		file string
		want bool
	}{
		{"README.md", true},
		{"pkg/local/README.md", true},
		{"docs/Guide.MD", true},
		{"pkg/plan/testdata/plan300.md", false},
		{"testdata/x.md", false},
		{"main.go", false},
		{"README", false},
	}
	for _, tt := range tests {
		if got := IsDoc(tt.file); got != tt.want {
			t.Errorf("IsDoc(%q) = %v, want %v", tt.file, got, tt.want)
		}
	}
}

// TestCheck runs Check over small repositories written for each case.
func TestCheck(t *testing.T) {
	base := map[string]string{
		"pkg/a/README.md": "# Package a\n\n## Size budget: one message\n\n## Notes\n\n## Notes\n",
		"pkg/a/a.go":      "package a\n",
		"events/x.json":   "{}\n",
	}
	tests := []struct {
		name string
		doc  string
		want []string // "line: link: reason" of each problem
	}{
		{"file link", "[a](pkg/a/README.md)\n", nil},
		{"folder link", "[a](pkg/a) and [events](events/)\n", nil},
		{"go file", "[code](pkg/a/a.go)\n", nil},
		{"line anchor on code", "[code](pkg/a/a.go#L1)\n", nil},
		{"heading anchor", "[s](pkg/a/README.md#size-budget-one-message)\n", nil},
		{"repeated heading", "[n](pkg/a/README.md#notes) [n1](pkg/a/README.md#notes-1)\n", nil},
		{"own heading", "# Top\n\n## Second part\n\nsee [below](#second-part)\n", nil},
		{"root-relative", "[a](/pkg/a/a.go)\n", nil},
		{"absolute links are not followed", "[gh](https://github.com/x/y) <https://x.test/> [m](mailto:a@b.c)\n", nil},
		{"code is not a link", "`[x](missing.md)`\n\n```\n[y](missing.md)\n```\n", nil},
		{"reference link", "see [the package][p]\n\n[p]: pkg/a/README.md#notes\n", nil},
		{"image", "![shot](pkg/a/missing.png)\n", []string{"1: pkg/a/missing.png: no such file or folder in the repository"}},
		{"missing file", "text\n\n[gone](pkg/b/README.md)\n", []string{"3: pkg/b/README.md: no such file or folder in the repository"}},
		{"missing heading", "[s](pkg/a/README.md#size-budget)\n", []string{"1: pkg/a/README.md#size-budget: no heading #size-budget in pkg/a/README.md"}},
		{"missing own heading", "# Top\n\n[x](#nowhere)\n", []string{"3: #nowhere: no heading #nowhere in README.md"}},
		{"too many repeats", "[n](pkg/a/README.md#notes-2)\n", []string{"1: pkg/a/README.md#notes-2: no heading #notes-2 in pkg/a/README.md"}},
		{"fragment on code", "[c](pkg/a/a.go#main)\n", []string{"1: pkg/a/a.go#main: #main on a target that is not a Markdown file"}},
		{"outside the repository", "[up](../elsewhere/FACTS.md)\n", []string{"1: ../elsewhere/FACTS.md: points outside the repository"}},
		{"in a table", "| a | b |\n| --- | --- |\n| x | [y](nope.md) |\n", []string{"3: nope.md: no such file or folder in the repository"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"README.md": tt.doc}
			for k, v := range base {
				files[k] = v
			}
			root, list := write(t, files)
			problems, err := Check(root, list)
			if err != nil {
				t.Fatalf("Check error: %v", err)
			}
			var got []string
			for _, p := range problems {
				if p.File != "README.md" {
					t.Errorf("problem in %s, want only README.md: %s", p.File, p)
					continue
				}
				got = append(got, strings.Join([]string{strconv.Itoa(p.Line), p.Link, p.Reason}, ": "))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check(%q) = %q, want %q", tt.doc, got, tt.want)
			}
		})
	}
}

// TestCheckSkipsTestdata shows that Markdown fixtures under testdata are not documentation.
func TestCheckSkipsTestdata(t *testing.T) {
	root, list := write(t, map[string]string{
		"README.md":                  "[plan](pkg/p/testdata/plan.md)\n",
		"pkg/p/testdata/plan.md":     "See [the design](docs/design.md#phase-1).\n",
		"pkg/p/testdata/sub/note.md": "[x](missing.md)\n",
	})
	problems, err := Check(root, list)
	if err != nil {
		t.Fatalf("Check error: %v", err)
	}
	if len(problems) != 0 {
		t.Errorf("Check = %v, want no problems", problems)
	}
}

func TestCheckUnreadableFile(t *testing.T) {
	root, list := write(t, map[string]string{"README.md": "# x\n"})
	if _, err := Check(root, append(list, "GONE.md")); err == nil {
		t.Errorf("Check with a listed file missing from disk = nil error, want an error")
	}
}

func write(t *testing.T, files map[string]string) (string, []string) {
	t.Helper()
	root := t.TempDir()
	var list []string
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		list = append(list, name)
	}
	return root, list
}

// TestDocsNameRealTests: every test or benchmark a Markdown page names as evidence
// (`TestX`, `BenchmarkX`, with its subtests after a slash) exists in a _test.go file, so
// the security page and the figures cannot point at a test that was renamed or removed.
func TestDocsNameRealTests(t *testing.T) {
	root, files := repository(t)
	defined := map[string]bool{}
	funcDecl := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz)[A-Za-z0-9_]+)\(`)
	var docs []string
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, "_test.go"):
			src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range funcDecl.FindAllStringSubmatch(string(src), -1) {
				defined[m[1]] = true
			}
		case strings.HasSuffix(f, ".md") && !strings.Contains(f, "testdata/"):
			docs = append(docs, f)
		}
	}
	named := regexp.MustCompile("`((?:Test|Benchmark|Fuzz)[A-Z][A-Za-z0-9_]*)")
	for _, f := range docs {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range named.FindAllStringSubmatch(string(src), -1) {
			if !defined[m[1]] {
				t.Errorf("%s names %s, which no _test.go file defines", f, m[1])
			}
		}
	}
}
