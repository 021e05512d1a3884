package doccheck

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// Problem is one link that does not resolve.
type Problem struct {
	File   string // the Markdown file, relative to the root, with forward slashes
	Line   int    // 1-based line of the link text; 0 when unknown
	Link   string // the destination as written
	Reason string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: link %q: %s", p.File, p.Line, p.Link, p.Reason)
}

// IsDoc reports whether a repository file is documentation whose links Check follows:
// a Markdown file outside testdata folders. Markdown under testdata is test input (a plan
// that links to its own repository's docs, for instance), not documentation.
func IsDoc(file string) bool {
	if !strings.EqualFold(path.Ext(file), ".md") {
		return false
	}
	for _, seg := range strings.Split(path.Dir(file), "/") {
		if seg == "testdata" {
			return false
		}
	}
	return true
}

// Check reads every documentation file (IsDoc) among files, which are the repository's
// files relative to root with forward slashes, and returns the relative links that do not
// resolve: a link must name one of files, or a folder holding one of them, and a #fragment
// must name a heading of the Markdown file it points into. Links with a scheme (https:,
// mailto:) are not followed. Problems are sorted by file and line.
func Check(root string, files []string) ([]Problem, error) {
	c := checker{
		root:    root,
		files:   make(map[string]bool, len(files)),
		dirs:    map[string]bool{".": true},
		anchors: map[string]map[string]bool{},
	}
	for _, f := range files {
		c.files[f] = true
		for d := path.Dir(f); d != "." && !c.dirs[d]; d = path.Dir(d) {
			c.dirs[d] = true
		}
	}
	var problems []Problem
	for _, f := range files {
		if !IsDoc(f) {
			continue
		}
		ps, err := c.checkFile(f)
		if err != nil {
			return nil, err
		}
		problems = append(problems, ps...)
	}
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].File != problems[j].File {
			return problems[i].File < problems[j].File
		}
		return problems[i].Line < problems[j].Line
	})
	return problems, nil
}

type checker struct {
	root    string
	files   map[string]bool
	dirs    map[string]bool
	anchors map[string]map[string]bool // Markdown file -> its heading anchors
}

var md = goldmark.New(goldmark.WithExtensions(extension.GFM))

func (c *checker) parse(file string) ([]byte, ast.Node, error) {
	src, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(file)))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", file, err)
	}
	return src, md.Parser().Parse(text.NewReader(src)), nil
}

func (c *checker) checkFile(file string) ([]Problem, error) {
	src, doc, err := c.parse(file)
	if err != nil {
		return nil, err
	}
	c.anchors[file] = headingAnchors(src, doc)
	var problems []Problem
	err = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		var dest string
		switch n := n.(type) {
		case *ast.Link:
			dest = string(n.Destination)
		case *ast.Image:
			dest = string(n.Destination)
		default:
			return ast.WalkContinue, nil
		}
		reason, err := c.resolve(file, dest)
		if err != nil {
			return ast.WalkStop, err
		}
		if reason != "" {
			problems = append(problems, Problem{File: file, Line: line(src, n), Link: dest, Reason: reason})
		}
		return ast.WalkSkipChildren, nil
	})
	return problems, err
}

// lineAnchor is GitHub's anchor for lines of a file that is not rendered as Markdown.
var lineAnchor = regexp.MustCompile(`^L[0-9]+(-L[0-9]+)?$`)

// resolve returns why dest, a link in file, does not resolve, or "" when it does.
func (c *checker) resolve(file, dest string) (string, error) {
	if dest == "" {
		return "empty destination", nil
	}
	u, err := url.Parse(dest)
	if err != nil {
		return "not a valid URL", nil
	}
	if u.Scheme != "" || u.Host != "" {
		return "", nil // absolute: not ours to check offline
	}
	target := file
	if u.Path != "" {
		if strings.HasPrefix(u.Path, "/") {
			target = path.Clean(strings.TrimPrefix(u.Path, "/")) // GitHub: from the repository root
		} else {
			target = path.Join(path.Dir(file), u.Path)
		}
		if target == ".." || strings.HasPrefix(target, "../") {
			return "points outside the repository", nil
		}
		if !c.files[target] && !c.dirs[target] {
			return "no such file or folder in the repository", nil
		}
	}
	if u.Fragment == "" {
		return "", nil
	}
	if !c.files[target] || !strings.EqualFold(path.Ext(target), ".md") {
		if c.files[target] && lineAnchor.MatchString(u.Fragment) {
			return "", nil
		}
		return "#" + u.Fragment + " on a target that is not a Markdown file", nil
	}
	anchors, ok := c.anchors[target]
	if !ok {
		src, doc, err := c.parse(target)
		if err != nil {
			return "", err
		}
		anchors = headingAnchors(src, doc)
		c.anchors[target] = anchors
	}
	if !anchors[strings.ToLower(u.Fragment)] {
		return "no heading #" + u.Fragment + " in " + target, nil
	}
	return "", nil
}

// headingAnchors returns the anchors GitHub gives the headings of a document, with the
// "-1", "-2", … suffixes it adds to repeated ones.
func headingAnchors(src []byte, doc ast.Node) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		slug := Slug(plainText(src, h))
		a := slug
		if k := seen[slug]; k > 0 {
			a = slug + "-" + strconv.Itoa(k)
		}
		seen[slug]++
		anchors[a] = true
		return ast.WalkSkipChildren, nil
	})
	return anchors
}

// plainText is a heading's text as GitHub renders it, markup removed: code spans, link
// texts and emphasis keep their text.
func plainText(src []byte, n ast.Node) string {
	var b bytes.Buffer
	_ = ast.Walk(n, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Text:
			b.Write(n.Segment.Value(src))
			if n.SoftLineBreak() || n.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(n.Value)
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil // GitHub drops inline tags from the anchor
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// Slug returns the anchor GitHub gives a heading with this text: lower case, every
// character that is not a letter, digit, mark, "-" or "_" dropped, and each space turned
// into "-" (so "Health: `GET /x`" is "health-get-x" and "A — B" is "a--b").
func Slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// line is the 1-based line of the first text inside n, or 0 when n holds none.
func line(src []byte, n ast.Node) int {
	off := -1
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := c.(*ast.Text); ok && entering {
			off = t.Segment.Start
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	if off < 0 {
		for p := n.Parent(); p != nil; p = p.Parent() {
			if p.Type() == ast.TypeBlock && p.Lines().Len() > 0 {
				off = p.Lines().At(0).Start
				break
			}
		}
	}
	if off < 0 {
		return 0
	}
	return bytes.Count(src[:off], []byte("\n")) + 1
}
