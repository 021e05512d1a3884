package manifest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Ecosystem names, as stored in store.Dependency.Ecosystem.
const (
	EcosystemGo     = "Go modules"
	EcosystemNPM    = "npm"
	EcosystemPyPI   = "PyPI"
	EcosystemCrates = "crates.io"
	EcosystemDocker = "Docker"
)

// ErrMalformed is wrapped by Parse's errors for content that is not a valid manifest.
var ErrMalformed = errors.New("malformed manifest")

// ErrUnsupported is wrapped by Parse's errors for a path that names no known manifest.
var ErrUnsupported = errors.New("not a known manifest")

// ErrTooLarge is wrapped by Parse's errors for content over MaxSize.
var ErrTooLarge = errors.New("manifest too large")

// MaxSize is the largest manifest, in bytes, Parse reads. Real manifests are a few
// kilobytes; at this size the costliest format (a TOML array of inline tables) takes
// about 80 MiB of heap and under a second to parse (pkg/processor/README.md).
const MaxSize = 512 << 10

// Dependency is one dependency found in a manifest. Its fields are those of
// store.Dependency, so that store.Dependency(d) converts it.
type Dependency struct {
	Name      string
	Version   string // constraint as written; empty when none is given
	Ecosystem string
	Manifest  string // path of the manifest it came from
}

type format struct {
	ecosystem string
	parse     func(content []byte) ([]Dependency, error) // Name and Version only
}

var formats = map[string]format{
	"go.mod":           {EcosystemGo, parseGoMod},
	"package.json":     {EcosystemNPM, parsePackageJSON},
	"requirements.txt": {EcosystemPyPI, parseRequirements},
	"pyproject.toml":   {EcosystemPyPI, parsePyproject},
	"Cargo.toml":       {EcosystemCrates, parseCargo},
	"Dockerfile":       {EcosystemDocker, parseDockerfile},
}

// base returns the last element of a slash-separated repository path.
func base(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}

// IsManifest reports whether a repository path names a dependency manifest (base name
// match, any folder, case-sensitive as GitHub paths are; e.g. "a/b/go.mod" yes,
// "go.mod.bak" no, "xgo.mod" no).
func IsManifest(path string) bool {
	_, ok := formats[base(path)]
	return ok
}

// Ecosystem returns the ecosystem name for a manifest path ("Go modules", "npm",
// "PyPI", "crates.io", "Docker"), or "" when the path names no known manifest.
func Ecosystem(path string) string {
	return formats[base(path)].ecosystem
}

// Names returns the manifest base names it knows, sorted (for documentation and for
// searching a tree).
func Names() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Parse extracts dependencies from one manifest's content, sorted by name and version
// without duplicates. Malformed content gives an error wrapping ErrMalformed with the
// path, never a panic; a path that names no manifest gives ErrUnsupported, and content
// over MaxSize ErrTooLarge, unread.
func Parse(path string, content []byte) ([]Dependency, error) {
	f, ok := formats[base(path)]
	if !ok {
		return nil, fmt.Errorf("parse manifest %s: %w", path, ErrUnsupported)
	}
	if len(content) > MaxSize {
		return nil, fmt.Errorf("parse manifest %s: %w: %d bytes, over %d", path, ErrTooLarge, len(content), MaxSize)
	}
	deps, err := f.parse(bytes.TrimPrefix(content, []byte("\xef\xbb\xbf")))
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w: %w", path, ErrMalformed, err)
	}
	for i := range deps {
		// Names become DynamoDB strings and JSON: they must be text.
		if !utf8.ValidString(deps[i].Name) || !utf8.ValidString(deps[i].Version) {
			return nil, fmt.Errorf("parse manifest %s: %w: dependency %.80q is not UTF-8", path, ErrMalformed, deps[i].Name)
		}
		deps[i].Ecosystem = f.ecosystem
		deps[i].Manifest = path
	}
	slices.SortFunc(deps, func(a, b Dependency) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	return slices.Compact(deps), nil
}
