package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

var (
	// dockerDirective is a parser directive ("# escape=`") at the top of a Dockerfile.
	dockerDirective = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$`) })
	// heredoc starts a here-document in RUN, COPY or ADD ("<<EOF", "<<-'EOT'").
	heredoc = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)`) })
)

// parseDockerfile reads the base image of every build stage. An image that names an
// earlier stage or "scratch" is not a dependency; one built from ARG variables is kept
// as written, unresolved, because the build arguments are not known here.
func parseDockerfile(content []byte) ([]Dependency, error) {
	if !utf8.Valid(content) {
		return nil, errors.New("text is not UTF-8")
	}
	instructions := dockerInstructions(string(content))
	stages := map[string]bool{}
	var deps []Dependency
	froms := 0
	for _, ins := range instructions {
		word, args, _ := strings.Cut(ins.text, " ")
		if !strings.EqualFold(word, "FROM") {
			continue
		}
		froms++
		fields := strings.Fields(args)
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			fields = fields[1:] // --platform=...
		}
		if len(fields) != 1 && (len(fields) != 3 || !strings.EqualFold(fields[1], "AS")) {
			return nil, fmt.Errorf("line %d: want FROM [--flag=value] image [AS name], got %.80q", ins.line, ins.text)
		}
		image := strings.ToLower(fields[0])
		if image != "scratch" && !stages[image] {
			d, err := imageDependency(fields[0])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", ins.line, err)
			}
			deps = append(deps, d)
		}
		// A stage's name is known to later stages only ("FROM base AS base" pulls base).
		if len(fields) == 3 {
			stages[strings.ToLower(fields[2])] = true
		}
	}
	if froms == 0 {
		return nil, errors.New("no FROM instruction")
	}
	return deps, nil
}

// imageDependency splits an image reference into name and tag and/or digest:
// "golang:1.22-alpine", "ghcr.io/o/app@sha256:…", "localhost:5000/app:1".
func imageDependency(image string) (Dependency, error) {
	if strings.Contains(image, "$") {
		return Dependency{Name: image}, nil
	}
	ref, digest, hasDigest := strings.Cut(image, "@")
	name, tag, hasTag := ref, "", false
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		name, tag, hasTag = ref[:i], ref[i+1:], true
	}
	if name == "" || hasTag && tag == "" || hasDigest && digest == "" {
		return Dependency{}, fmt.Errorf("bad image reference %.80q", image)
	}
	version := tag
	if digest != "" {
		if version != "" {
			version += "@"
		}
		version += digest
	}
	return Dependency{Name: name, Version: version}, nil
}

// instruction is one logical Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int // first physical line, from 1
	text string
}

// dockerInstructions splits a Dockerfile into instructions as BuildKit does: parser
// directives at the top (only "escape" matters here), comment lines dropped even inside
// continuations, lines ending in the escape character continued, and here-documents of
// RUN, COPY and ADD skipped.
func dockerInstructions(content string) []instruction {
	lines := strings.Split(strings.ReplaceAll(content, "\r\n", "\n"), "\n")
	escape := `\`
	i := 0
	for ; i < len(lines); i++ {
		m := dockerDirective().FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") && (m[2] == "`" || m[2] == `\`) {
			escape = m[2]
		}
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, escape) {
			cur.WriteString(strings.TrimSuffix(line, escape))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		text := strings.Join(strings.Fields(cur.String()), " ")
		cur.Reset()
		out = append(out, instruction{line: start, text: text})
		word, _, _ := strings.Cut(text, " ")
		switch strings.ToUpper(word) {
		case "RUN", "COPY", "ADD":
			for _, m := range heredoc().FindAllStringSubmatch(text, -1) {
				if m[2] != m[4] {
					continue // unbalanced quotes: not a here-document
				}
				i = skipHeredoc(lines, i+1, m[3], m[1] == "-")
			}
		}
	}
	if cur.Len() > 0 {
		out = append(out, instruction{line: start, text: strings.Join(strings.Fields(cur.String()), " ")})
	}
	return out
}

// skipHeredoc returns the index of the line that ends a here-document whose body starts
// at lines[from]: the line equal to the delimiter (tabs stripped for "<<-").
func skipHeredoc(lines []string, from int, delim string, stripTabs bool) int {
	for j := from; j < len(lines); j++ {
		l := strings.TrimRight(lines[j], "\r")
		if stripTabs {
			l = strings.TrimLeft(l, "\t")
		}
		if l == delim {
			return j
		}
	}
	return len(lines)
}
