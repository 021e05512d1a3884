package manifest

import (
	"cmp"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestIsManifestAndEcosystem(t *testing.T) {
	tests := []struct {
		path      string
		ecosystem string // "" when not a manifest
	}{
		{"go.mod", EcosystemGo},
		{"a/b/go.mod", EcosystemGo},
		{"go.mod.bak", ""},
		{"xgo.mod", ""},
		{"go.sum", ""},
		{"GO.MOD", ""},
		{"a/go.mod/", ""},
		{"web/package.json", EcosystemNPM},
		{"web/package-lock.json", ""},
		{"requirements.txt", EcosystemPyPI},
		{"requirements-dev.txt", ""},
		{"svc/pyproject.toml", EcosystemPyPI},
		{"Cargo.toml", EcosystemCrates},
		{"cargo.toml", ""},
		{"Cargo.lock", ""},
		{"deploy/Dockerfile", EcosystemDocker},
		{"dockerfile", ""},
		{"Dockerfile.dev", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := IsManifest(tc.path); got != (tc.ecosystem != "") {
				t.Errorf("IsManifest(%q) = %v, want %v", tc.path, got, tc.ecosystem != "")
			}
			if got := Ecosystem(tc.path); got != tc.ecosystem {
				t.Errorf("Ecosystem(%q) = %q, want %q", tc.path, got, tc.ecosystem)
			}
		})
	}
}

func TestNames(t *testing.T) {
	want := []string{"Cargo.toml", "Dockerfile", "go.mod", "package.json", "pyproject.toml", "requirements.txt"}
	got := Names()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for _, n := range got {
		if !IsManifest("some/dir/" + n) {
			t.Errorf("IsManifest(%q) = false, want true for a name from Names", "some/dir/"+n)
		}
	}
	got[0] = "changed"
	if Names()[0] != want[0] {
		t.Errorf("Names() shares its slice with callers")
	}
}

// deps builds the expected result for one manifest from name/version pairs.
func deps(ecosystem, manifest string, nameVersions ...string) []Dependency {
	var out []Dependency
	for i := 0; i+1 < len(nameVersions); i += 2 {
		out = append(out, Dependency{Name: nameVersions[i], Version: nameVersions[i+1], Ecosystem: ecosystem, Manifest: manifest})
	}
	return out
}

// TestParseFixtures parses each fixture in testdata as the manifest at path. A fixture
// with a .want file beside it parses to the dependencies listed there, one a line: the
// name, then a tab and the version when there is one. One without is malformed.
func TestParseFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		path    string // the repository path Parse is given
	}{
		{"go/basic.mod", "services/api/go.mod"},
		{"go/minimal.mod", "go.mod"},
		{"npm/basic.json", "web/package.json"},
		{"npm/nodeps.json", "package.json"},
		{"pypi/requirements.txt", "requirements.txt"},
		{"pypi/pep621.toml", "cli/pyproject.toml"},
		{"pypi/poetry.toml", "pyproject.toml"},
		{"cargo/basic.toml", "agent/Cargo.toml"},
		// Brackets in comments and strings do not count towards the nesting limit.
		{"cargo/brackets-in-strings.toml", "Cargo.toml"},
		{"cargo/workspace.toml", "Cargo.toml"},
		{"docker/multistage.Dockerfile", "deploy/Dockerfile"},
		{"docker/windows.Dockerfile", "Dockerfile"},

		// Malformed.
		{"go/malformed.mod", "repo/go.mod"},
		{"go/bad-version.mod", "repo/go.mod"},
		{"npm/malformed.json", "repo/package.json"},
		{"npm/array-deps.json", "repo/package.json"},
		{"npm/not-object.json", "repo/package.json"},
		{"pypi/requirements-malformed.txt", "repo/requirements.txt"},
		{"pypi/requirements-junk.txt", "repo/requirements.txt"},
		{"pypi/malformed.toml", "repo/pyproject.toml"},
		{"pypi/wrong-type.toml", "repo/pyproject.toml"},
		{"pypi/bad-requirement.toml", "repo/pyproject.toml"},
		{"cargo/malformed.toml", "repo/Cargo.toml"},
		{"cargo/wrong-type.toml", "repo/Cargo.toml"},
		{"cargo/deps-not-table.toml", "repo/Cargo.toml"},
		{"docker/malformed.Dockerfile", "repo/Dockerfile"},
		{"docker/no-from.Dockerfile", "repo/Dockerfile"},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			content := testkit.Testdata(t, tc.fixture)
			got, err := Parse(tc.path, content)
			wantFile, readErr := os.ReadFile(filepath.Join("testdata", tc.fixture+".want"))
			if errors.Is(readErr, fs.ErrNotExist) {
				checkMalformed(t, tc.fixture, tc.path, got, err)
				return
			} else if readErr != nil {
				t.Fatal(readErr)
			}
			var nameVersions []string
			for _, line := range strings.Split(strings.TrimSuffix(string(wantFile), "\n"), "\n") {
				if line != "" {
					name, version, _ := strings.Cut(line, "\t")
					nameVersions = append(nameVersions, name, version)
				}
			}
			want := deps(Ecosystem(tc.path), tc.path, nameVersions...)
			if err != nil {
				t.Fatalf("Parse(%s) error = %v, want nil", tc.fixture, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%s) =\n%v\nwant\n%v", tc.fixture, got, want)
			}
			// Windows line endings and a byte order mark read the same.
			crlf := append([]byte("\xef\xbb\xbf"), strings.ReplaceAll(string(content), "\n", "\r\n")...)
			if got, err := Parse(tc.path, crlf); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%s with BOM and CRLF) = %v, %v, want %v, nil", tc.fixture, got, err, want)
			}
		})
	}
}

// checkMalformed wants Parse's answer for a malformed fixture: no dependencies and an
// error wrapping ErrMalformed that names the manifest.
func checkMalformed(t *testing.T, fixture, path string, got []Dependency, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse(%s) = %v, %v, want error wrapping ErrMalformed", fixture, got, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("Parse(%s) error = %q, want it to name %q", fixture, err, path)
	}
	if got != nil {
		t.Errorf("Parse(%s) deps = %v, want nil with an error", fixture, got)
	}
}

func TestParseUnsupported(t *testing.T) {
	_, err := Parse("docs/plan.md", []byte("- [ ] x"))
	if !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrMalformed) {
		t.Errorf("Parse(docs/plan.md) error = %v, want ErrUnsupported", err)
	}
}

// TestParseInline covers single lines and small files of each format.
func TestParseInline(t *testing.T) {
	type nv = []string
	tests := []struct {
		name, path, content string
		want                nv // name, version pairs; nil with wantErr
		wantErr             bool
	}{
		// requirements.txt
		{"req empty", "requirements.txt", "", nil, false},
		{"req comments only", "requirements.txt", "# nothing\n   # indented\n\n", nil, false},
		{"req name only", "requirements.txt", "requests", nv{"requests", ""}, false},
		{"req PEP 503 names", "requirements.txt", "Foo__Bar.baz\nA-_-.b\n", nv{"a-b", "", "foo-bar-baz", ""}, false},
		{"req extras no space", "requirements.txt", "uvicorn[standard]>=0.30", nv{"uvicorn", ">=0.30"}, false},
		{"req empty extras", "requirements.txt", "uvicorn[]", nv{"uvicorn", ""}, false},
		{"req bad extras", "requirements.txt", "uvicorn[standard", nil, true},
		{"req marker only", "requirements.txt", "colorama; os_name == 'nt'", nv{"colorama", ""}, false},
		{"req marker no space", "requirements.txt", "colorama>=0.4;os_name=='nt'", nv{"colorama", ">=0.4"}, false},
		{"req wildcard and arbitrary equality", "requirements.txt", "a==1.*\nb===1.0-custom\n", nv{"a", "==1.*", "b", "===1.0-custom"}, false},
		{"req hash after tab", "requirements.txt", "six==1.16.0\t--hash=sha256:abc", nv{"six", "==1.16.0"}, false},
		{"req hash continuation", "requirements.txt", "six==1.16.0 \\\n  --hash=sha256:abc \\\n  --hash=sha256:def\nidna\n", nv{"idna", "", "six", "==1.16.0"}, false},
		{"req hash without space is not a comment", "requirements.txt", "six#==1.0", nil, true},
		{"req options", "requirements.txt", "--pre\n--find-links ./wheels\n-i https://x\n--only-binary :all:\n", nil, false},
		{"req direct reference without spaces", "requirements.txt", "pip@https://example.com/pip.zip", nv{"pip", ""}, false},
		{"req direct reference without URL", "requirements.txt", "pip @ ; python_version > '3'", nil, true},
		{"req VCS URL", "requirements.txt", "git+https://github.com/a/b.git@v1#egg=b", nil, false},
		{"req archive", "requirements.txt", "pkg-1.0.tar.gz\nwheel-1.0-py3-none-any.WHL\n", nil, false},
		{"req windows path", "requirements.txt", `C:\wheels\pkg.whl`, nil, false},
		{"req CRLF and no final newline", "requirements.txt", "a==1\r\nb==2", nv{"a", "==1", "b", "==2"}, false},
		{"req missing version", "requirements.txt", "flask==", nil, true},
		{"req bad operator", "requirements.txt", "flask=>2", nil, true},
		{"req unclosed parenthesis", "requirements.txt", "flask (>=2", nil, true},
		{"req no name", "requirements.txt", ">=2", nil, true},
		{"req not UTF-8", "requirements.txt", "flask\xff", nil, true},
		{"req UTF-16", "requirements.txt", utf16LE("\ufeffflask==3.0.3\r\nclick\r\n"), nv{"click", "", "flask", "==3.0.3"}, false},
		{"req UTF-16 odd length", "requirements.txt", "\xff\xfea", nil, true},

		// package.json
		{"npm empty object", "package.json", "{}", nil, false},
		{"npm empty file", "package.json", "", nil, true},
		{"npm null", "package.json", "null", nil, true},
		{"npm trailing data", "package.json", `{} {}`, nil, true},
		{"npm non-string version", "package.json", `{"dependencies": {"a": 1}}`, nil, true},
		{"npm empty name", "package.json", `{"devDependencies": {"": "1"}}`, nil, true},
		{"npm duplicate key last wins", "package.json", `{"dependencies": {"a": "1", "a": "2"}}`, nv{"a", "2"}, false},

		// pyproject.toml
		{"pyproject empty", "pyproject.toml", "", nil, false},
		{"pyproject tool only", "pyproject.toml", "[tool.black]\nline-length = 88\n", nil, false},
		{"pyproject direct reference", "pyproject.toml", "[project]\ndependencies = [\"lib @ git+https://github.com/a/lib\"]\n", nv{"lib", ""}, false},
		{"pyproject bad group item", "pyproject.toml", "[dependency-groups]\ndev = [1]\n", nil, true},
		{"pyproject group table without include", "pyproject.toml", "[dependency-groups]\ndev = [{ other = 1 }]\n", nil, true},
		{"poetry python only", "pyproject.toml", "[tool.poetry.dependencies]\nPython = \"^3.12\"\n", nil, false},
		{"poetry bad name", "pyproject.toml", "[tool.poetry.dependencies]\n\"bad name\" = \"1\"\n", nil, true},
		{"poetry bad value", "pyproject.toml", "[tool.poetry.dependencies]\nx = 1\n", nil, true},
		{"poetry bad version", "pyproject.toml", "[tool.poetry.dependencies]\nx = { version = 1 }\n", nil, true},
		{"poetry list of strings", "pyproject.toml", "[tool.poetry.dependencies]\nx = [\"1\"]\n", nil, true},

		// Cargo.toml
		{"cargo empty", "Cargo.toml", "", nil, false},
		{"cargo bad version type", "Cargo.toml", "[dependencies]\nserde = { version = 1 }\n", nil, true},
		{"cargo bad package type", "Cargo.toml", "[dependencies]\nx = { package = true }\n", nil, true},
		{"cargo empty name", "Cargo.toml", "[dependencies]\n\"\" = \"1\"\n", nil, true},
		{"cargo target not a table", "Cargo.toml", "target = 1\n", nil, true},
		{"cargo one target not a table", "Cargo.toml", "[target]\nx = 1\n", nil, true},
		{"cargo workspace not a table", "Cargo.toml", "workspace = []\n", nil, true},
		{"cargo underscore tables", "Cargo.toml", "[dev_dependencies]\na = \"1\"\n[build_dependencies]\nb = \"2\"\n", nv{"a", "1", "b", "2"}, false},

		{"toml nesting at the limit", "Cargo.toml", "x = " + strings.Repeat("[", 64) + strings.Repeat("]", 64) + "\n", nil, false},
		{"toml nesting beyond the limit", "Cargo.toml", "x = " + strings.Repeat("[", 65) + strings.Repeat("]", 65) + "\n", nil, true},
		{"toml inline tables beyond the limit", "pyproject.toml", "x = " + strings.Repeat("{a=", 65) + "1" + strings.Repeat("}", 65) + "\n", nil, true},

		// go.mod
		{"go empty", "go.mod", "", nil, false},
		{"go single-line require", "go.mod", "module m\nrequire example.com/a v1.2.3\n", nv{"example.com/a", "v1.2.3"}, false},
		{"go pseudo-version", "go.mod", "module m\nrequire example.com/a v0.0.0-20240101000000-abcdefabcdef\n", nv{"example.com/a", "v0.0.0-20240101000000-abcdefabcdef"}, false},
		{"go unknown directive", "go.mod", "module m\nfuture something\nrequire example.com/a v1.0.0\n", nv{"example.com/a", "v1.0.0"}, false},
		{"go require without version", "go.mod", "module m\nrequire example.com/a\n", nil, true},
		{"go unclosed block", "go.mod", "module m\nrequire (\n", nil, true},
		{"go path not UTF-8", "go.mod", "module m\nrequire example.com/\xff v1.0.0\n", nil, true},

		// Dockerfile
		{"docker empty", "Dockerfile", "", nil, true},
		{"docker only scratch", "Dockerfile", "FROM scratch\nCOPY app /\n", nil, false},
		{"docker digest only", "Dockerfile", "FROM alpine@sha256:abc", nv{"alpine", "sha256:abc"}, false},
		{"docker stage names are case-insensitive", "Dockerfile", "FROM golang:1.22 AS Build\nFROM BUILD\n", nv{"golang", "1.22"}, false},
		{"docker stage name is not known to its own FROM", "Dockerfile", "FROM base AS base\nFROM base\n", nv{"base", ""}, false},
		{"docker several flags", "Dockerfile", "FROM --platform=linux/arm64 --foo=bar node:20 AS x", nv{"node", "20"}, false},
		{"docker lower-case keywords", "Dockerfile", "from python:3.12-slim as app", nv{"python", "3.12-slim"}, false},
		{"docker extra words", "Dockerfile", "FROM node:20 AS x y", nil, true},
		{"docker no image", "Dockerfile", "FROM --platform=linux/amd64", nil, true},
		{"docker FROM alone", "Dockerfile", "FROM\n", nil, true},
		{"docker trailing continuation", "Dockerfile", "FROM \\\n  node:20 \\", nv{"node", "20"}, false},
		{"docker heredoc with dash and quotes", "Dockerfile", "FROM a\nRUN <<-'END' cat\n\tFROM b\n\tEND\nFROM c\n", nv{"a", "", "c", ""}, false},
		{"docker two heredocs", "Dockerfile", "FROM a\nCOPY <<X <<Y /\nFROM b\nX\nFROM c\nY\nFROM d\n", nv{"a", "", "d", ""}, false},
		{"docker unterminated heredoc", "Dockerfile", "FROM a\nRUN <<EOF\nFROM b\n", nv{"a", ""}, false},
		{"docker shift is not a heredoc", "Dockerfile", "FROM a\nRUN echo $((1<<2))\nFROM b\n", nv{"a", "", "b", ""}, false},
		{"docker directive after a comment is a comment", "Dockerfile", "# hello\n# escape=`\nFROM a \\\n  AS b\n", nv{"a", ""}, false},
		{"docker not UTF-8", "Dockerfile", "FROM a\xff", nil, true},
		{"docker empty image name", "Dockerfile", "FROM :1", nil, true},
		{"docker empty tag", "Dockerfile", "FROM golang:", nil, true},
		{"docker empty digest", "Dockerfile", "FROM golang@", nil, true},
		{"docker variable image kept whole", "Dockerfile", "ARG V=1\nFROM repo/app:${V}@sha256:x", nv{"repo/app:${V}@sha256:x", ""}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.path, []byte(tc.content))
			if tc.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("Parse(%s, %q) = %v, %v, want ErrMalformed", tc.path, tc.content, got, err)
				}
				return
			}
			want := deps(Ecosystem(tc.path), tc.path, tc.want...)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%s, %q) = %v, %v, want %v, nil", tc.path, tc.content, got, err, want)
			}
		})
	}
}

// utf16LE encodes s as UTF-16 little endian, as Windows PowerShell writes files.
func utf16LE(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

// TestParseDeterministic parses the same content repeatedly: map iteration in the
// parsers must not show in the result.
func TestParseDeterministic(t *testing.T) {
	for _, tc := range []struct{ fixture, path string }{
		{"npm/basic.json", "package.json"},
		{"cargo/basic.toml", "Cargo.toml"},
		{"pypi/poetry.toml", "pyproject.toml"},
		{"pypi/pep621.toml", "pyproject.toml"},
	} {
		content := testkit.Testdata(t, tc.fixture)
		first, err := Parse(tc.path, content)
		if err != nil {
			t.Fatalf("Parse(%s) error = %v", tc.fixture, err)
		}
		for range 20 {
			if got, _ := Parse(tc.path, content); !reflect.DeepEqual(got, first) {
				t.Fatalf("Parse(%s) = %v, then %v, want the same each time", tc.fixture, first, got)
			}
		}
	}
}

// checkResult holds for any content: either ErrMalformed and no dependencies, or
// sorted, distinct, complete dependencies.
func checkResult(t *testing.T, path string, got []Dependency, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrMalformed) || got != nil {
			t.Fatalf("Parse(%s) = %v, %v, want nil and ErrMalformed on error", path, got, err)
		}
		return
	}
	for i, d := range got {
		if !utf8.ValidString(d.Name) || !utf8.ValidString(d.Version) {
			t.Errorf("Parse(%s)[%d] = %+v, want valid UTF-8", path, i, d)
		}
		if d.Name == "" || d.Ecosystem != Ecosystem(path) || d.Manifest != path {
			t.Errorf("Parse(%s)[%d] = %+v, want a name, ecosystem %q and manifest %q", path, i, d, Ecosystem(path), path)
		}
	}
	sorted := slices.IsSortedFunc(got, func(a, b Dependency) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version))
	})
	if !sorted || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Parse(%s) = %v, want sorted by name and version without duplicates", path, got)
	}
}

func fuzzFormat(f *testing.F, path string, fixtures ...string) {
	for _, name := range fixtures {
		f.Add(testkit.Testdata(f, name))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		got, err := Parse(path, content)
		checkResult(t, path, got, err)
	})
}

func FuzzGoMod(f *testing.F) {
	fuzzFormat(f, "go.mod", "go/basic.mod", "go/minimal.mod", "go/malformed.mod", "go/bad-version.mod")
}

func FuzzPackageJSON(f *testing.F) {
	fuzzFormat(f, "web/package.json", "npm/basic.json", "npm/nodeps.json", "npm/malformed.json", "npm/array-deps.json")
}

func FuzzRequirements(f *testing.F) {
	fuzzFormat(f, "requirements.txt", "pypi/requirements.txt", "pypi/requirements-malformed.txt", "pypi/requirements-junk.txt")
}

func FuzzPyproject(f *testing.F) {
	fuzzFormat(f, "pyproject.toml", "pypi/pep621.toml", "pypi/poetry.toml", "pypi/malformed.toml", "pypi/wrong-type.toml")
}

func FuzzCargo(f *testing.F) {
	fuzzFormat(f, "Cargo.toml", "cargo/basic.toml", "cargo/workspace.toml", "cargo/malformed.toml", "cargo/wrong-type.toml")
}

func FuzzDockerfile(f *testing.F) {
	fuzzFormat(f, "Dockerfile", "docker/multistage.Dockerfile", "docker/windows.Dockerfile", "docker/malformed.Dockerfile")
}
