package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

var (
	// pep508Name is a distribution name as PEP 508 allows it.
	pep508Name = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`) })
	// pep440Spec is one version specifier ("~=1.4", "==2.*", ">= 1.0").
	pep440Spec = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(~=|===|==|!=|<=|>=|<|>)\s*([A-Za-z0-9._*+!-]+)$`) })
	// extrasList is the inside of "[extra1, extra2]".
	extrasList = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\s*(?:[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:,\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*)*)?$`)
	})
	// pep503Sep is what PEP 503 folds into one "-".
	pep503Sep = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[-_.]+`) })
	// urlScheme starts a URL requirement ("https://", "git+ssh://", "file:").
	urlScheme = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`) })
)

// normalizePyPI normalises a distribution name as PEP 503 says.
func normalizePyPI(name string) string {
	return pep503Sep().ReplaceAllString(strings.ToLower(name), "-")
}

// parsePEP508 reads one dependency specification: name, optional [extras], then
// version specifiers (bare or in parentheses) or "@ url", then optional "; markers".
// The version is the specifiers without spaces, "" for none or for a URL.
func parsePEP508(s string) (Dependency, error) {
	s = strings.TrimSpace(s)
	name := pep508Name().FindString(s)
	if name == "" {
		return Dependency{}, fmt.Errorf("requirement %.80q: no project name", s)
	}
	rest := strings.TrimLeft(s[len(name):], " \t")
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || !extrasList().MatchString(rest[1:end]) {
			return Dependency{}, fmt.Errorf("requirement %.80q: bad extras", s)
		}
		rest = strings.TrimLeft(rest[end+1:], " \t")
	}
	d := Dependency{Name: normalizePyPI(name)}
	if strings.HasPrefix(rest, "@") {
		// A direct reference: the URL runs to whitespace before any marker.
		if url := strings.Fields(rest[1:]); len(url) == 0 || strings.HasPrefix(url[0], ";") {
			return Dependency{}, fmt.Errorf("requirement %.80q: no URL after @", s)
		}
		return d, nil
	}
	spec, _, _ := strings.Cut(rest, ";")
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "(") {
		if !strings.HasSuffix(spec, ")") {
			return Dependency{}, fmt.Errorf("requirement %.80q: unclosed parenthesis", s)
		}
		spec = strings.TrimSpace(spec[1 : len(spec)-1])
	}
	if spec == "" {
		return d, nil
	}
	var parts []string
	for _, one := range strings.Split(spec, ",") {
		m := pep440Spec().FindStringSubmatch(strings.TrimSpace(one))
		if m == nil {
			return Dependency{}, fmt.Errorf("requirement %.80q: bad version specifier %.40q", s, one)
		}
		parts = append(parts, m[1]+m[2])
	}
	d.Version = strings.Join(parts, ",")
	return d, nil
}

func parseRequirements(content []byte) ([]Dependency, error) {
	text, err := decodeText(content)
	if err != nil {
		return nil, err
	}
	var deps []Dependency
	for _, line := range joinContinuations(text) {
		line = strings.TrimSpace(stripComment(line))
		if line == "" || strings.HasPrefix(line, "-") {
			continue // blank, or an option: -r, -c, -e, --index-url, ...
		}
		// Per-requirement options ("--hash=...") follow the requirement.
		if i := strings.Index(line, " --"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if i := strings.Index(line, "\t--"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if isPathOrURL(line) {
			continue
		}
		d, err := parsePEP508(line)
		if err != nil {
			return nil, err
		}
		deps = append(deps, d)
	}
	return deps, nil
}

// stripComment removes a comment as pip does: from a "#" at the start of the line or
// after whitespace ("pkg#1" is no comment).
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || strings.IndexByte(" \t\f\v", line[i-1]) >= 0) {
			return line[:i]
		}
	}
	return line
}

// decodeText returns content as text: UTF-8, or UTF-16 with a byte order mark, which
// pip reads too (PowerShell's "pip freeze > requirements.txt" writes it).
func decodeText(content []byte) (string, error) {
	if len(content) >= 2 && (content[0] == 0xff && content[1] == 0xfe || content[0] == 0xfe && content[1] == 0xff) {
		if len(content)%2 != 0 {
			return "", errors.New("odd length UTF-16 text")
		}
		units := make([]uint16, 0, len(content)/2-1)
		for i := 2; i+1 < len(content); i += 2 {
			if content[0] == 0xff {
				units = append(units, uint16(content[i])|uint16(content[i+1])<<8)
			} else {
				units = append(units, uint16(content[i])<<8|uint16(content[i+1]))
			}
		}
		return string(utf16.Decode(units)), nil
	}
	if !utf8.Valid(content) {
		return "", errors.New("text is not UTF-8")
	}
	return string(content), nil
}

// joinContinuations splits text into lines, joining a line that ends in a backslash
// with the next, as pip does.
func joinContinuations(text string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(line[:len(line)-1])
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// archiveExts are the file types pip installs from a path.
var archiveExts = []string{".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar"}

// isPathOrURL reports whether a requirements line installs from a URL, a local path or
// an archive rather than naming a project ("name @ url" names one).
func isPathOrURL(line string) bool {
	first := strings.Fields(line)[0]
	if name := pep508Name().FindString(first); name != "" && strings.HasPrefix(first[len(name):], "@") {
		return false
	}
	if urlScheme().MatchString(first) || strings.ContainsAny(first, `/\`) ||
		strings.HasPrefix(first, ".") || strings.HasPrefix(first, "~") {
		return true
	}
	lower := strings.ToLower(first)
	for _, ext := range archiveExts {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// pyproject holds the parts of pyproject.toml that list dependencies.
type pyproject struct {
	Project struct {
		Dependencies         []string            `toml:"dependencies"`
		OptionalDependencies map[string][]string `toml:"optional-dependencies"`
	} `toml:"project"`
	// DependencyGroups (PEP 735) hold requirement strings and {include-group = "..."}
	// tables, which repeat another group.
	DependencyGroups map[string][]any `toml:"dependency-groups"`
	Tool             struct {
		Poetry struct {
			Dependencies    map[string]any `toml:"dependencies"`
			DevDependencies map[string]any `toml:"dev-dependencies"`
			Group           map[string]struct {
				Dependencies map[string]any `toml:"dependencies"`
			} `toml:"group"`
		} `toml:"poetry"`
	} `toml:"tool"`
}

func parsePyproject(content []byte) ([]Dependency, error) {
	var doc pyproject
	if err := checkTOMLDepth(string(content)); err != nil {
		return nil, err
	}
	if err := toml.Unmarshal(content, &doc); err != nil {
		return nil, err
	}
	var deps []Dependency
	addPEP508 := func(specs []string) error {
		for _, s := range specs {
			d, err := parsePEP508(s)
			if err != nil {
				return err
			}
			deps = append(deps, d)
		}
		return nil
	}
	if err := addPEP508(doc.Project.Dependencies); err != nil {
		return nil, err
	}
	for _, specs := range doc.Project.OptionalDependencies {
		if err := addPEP508(specs); err != nil {
			return nil, err
		}
	}
	for group, items := range doc.DependencyGroups {
		for _, item := range items {
			switch item := item.(type) {
			case string:
				if err := addPEP508([]string{item}); err != nil {
					return nil, err
				}
			case map[string]any:
				if _, ok := item["include-group"].(string); !ok {
					return nil, fmt.Errorf("dependency-groups.%s: table without include-group", group)
				}
			default:
				return nil, fmt.Errorf("dependency-groups.%s: want a string or table, got %T", group, item)
			}
		}
	}
	poetry := doc.Tool.Poetry
	tables := []map[string]any{poetry.Dependencies, poetry.DevDependencies}
	for _, g := range poetry.Group {
		tables = append(tables, g.Dependencies)
	}
	for _, t := range tables {
		for name, spec := range t {
			d := Dependency{Name: normalizePyPI(name)}
			if d.Name == "python" {
				continue // the interpreter constraint, not a package
			}
			if !pep508Name().MatchString(name) || len(pep508Name().FindString(name)) != len(name) {
				return nil, fmt.Errorf("tool.poetry: bad project name %.80q", name)
			}
			v, err := poetryVersion(name, spec)
			if err != nil {
				return nil, err
			}
			d.Version = v
			deps = append(deps, d)
		}
	}
	return deps, nil
}

// poetryVersion reads a Poetry dependency: "^1.2", { version = "^1.2", ... }, a table
// without a version (git, path, url), or a list of such tables for different markers,
// whose versions are joined with " || ".
func poetryVersion(name string, spec any) (string, error) {
	switch spec := spec.(type) {
	case string:
		return spec, nil
	case map[string]any:
		return optString("tool.poetry."+name+".version", spec["version"])
	case []any:
		var versions []string
		for _, one := range spec {
			m, ok := one.(map[string]any)
			if !ok {
				return "", fmt.Errorf("tool.poetry.%s: want a list of tables, got %T", name, one)
			}
			v, err := optString("tool.poetry."+name+".version", m["version"])
			if err != nil {
				return "", err
			}
			if v != "" {
				versions = append(versions, v)
			}
		}
		return strings.Join(versions, " || "), nil
	}
	return "", fmt.Errorf("tool.poetry.%s: want a version or a table, got %T", name, spec)
}
