package plan

import (
	"bytes"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// MaxSize is the largest plan, in bytes, that callers should hand to Parse. Parse itself
// accepts any size; the limit keeps a processor's memory and time per plan bounded.
const MaxSize = 1 << 20

// Plan is the progress of a whole plan. Its fields mirror store.Snapshot's.
type Plan struct {
	TasksTotal int
	TasksDone  int
	// Progress is TasksDone/TasksTotal, 0 when the plan has no tasks.
	Progress float64
	Sections []Section
}

// Section is one heading's share of the plan. Its fields are those of store.Section, so
// that store.Section(s) converts it.
type Section struct {
	// Title is the heading as plain text: inline markup is dropped, links and code spans
	// keep their text. The leading section of tasks before any heading has an empty Title.
	Title string
	// Level is the heading level, 1..6; 0 for the leading section.
	Level      int
	TasksTotal int
	TasksDone  int
	// Progress is TasksDone/TasksTotal, 0 when the section has no tasks.
	Progress float64
}

// markdown is shared: a goldmark parser is safe for concurrent Parse calls once built.
// It has CommonMark's block parsers, GFM's task checkbox, and CommonMark's and GFM's
// strikethrough inline parsers wrapped so that they work in headings only. It is built
// on first use, not at start: a function's first request seldom parses a plan.
var markdown = sync.OnceValue(func() parser.Parser {
	return parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithParagraphTransformers(paragraphTransformers()...),
		parser.WithInlineParsers(inlineParsers()...),
	)
})

// Sizes beyond which input is cut or left alone (see the package doc).
const (
	maxPrefix        = 128
	maxRefLines      = 64
	maxHeadingSource = 512
	maxInlineSource  = 64 << 10
	maxTitle         = 256
)

func paragraphTransformers() []util.PrioritizedValue {
	all := parser.DefaultParagraphTransformers()
	for i, v := range all {
		all[i].Value = shortParagraphs{v.Value.(parser.ParagraphTransformer)}
	}
	return all
}

// shortParagraphs runs a paragraph transformer on paragraphs of at most maxRefLines
// lines: goldmark's link reference definition search takes time quadratic in the
// number of definitions in one paragraph.
type shortParagraphs struct{ parser.ParagraphTransformer }

// Transform implements parser.ParagraphTransformer.
func (t shortParagraphs) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	if node.Lines().Len() <= maxRefLines {
		t.ParagraphTransformer.Transform(node, reader, pc)
	}
}

func inlineParsers() []util.PrioritizedValue {
	all := append(parser.DefaultInlineParsers(), util.Prioritized(extension.NewStrikethroughParser(), 500))
	out := []util.PrioritizedValue{util.Prioritized(extension.NewTaskCheckBoxParser(), 0)}
	for _, v := range all {
		ip := v.Value.(parser.InlineParser)
		if _, ok := ip.(parser.CloseBlocker); ok {
			v.Value = headingCloser{headingOnly{ip}}
		} else {
			v.Value = headingOnly{ip}
		}
		out = append(out, v)
	}
	return out
}

// headingOnly runs an inline parser in headings within the inline budget and nowhere
// else: task counting needs no inline markup outside headings, and goldmark's inline
// parsing costs about a microsecond and hundreds of bytes per bracket.
type headingOnly struct{ parser.InlineParser }

// inlineBudgetKey holds the parse's *inlineBudget in the parser.Context.
var inlineBudgetKey = parser.NewContextKey()

// inlineBudget tracks which heading is being parsed and what budget is left. goldmark
// parses the inlines of one block at a time, so one decision per heading suffices.
type inlineBudget struct {
	heading ast.Node
	allowed bool
	left    int
}

// Parse implements parser.InlineParser.
func (h headingOnly) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	if _, ok := parent.(*ast.Heading); !ok {
		return nil
	}
	b := pc.ComputeIfAbsent(inlineBudgetKey, func() any { return &inlineBudget{left: maxInlineSource} }).(*inlineBudget)
	if b.heading != parent {
		b.heading, b.allowed = parent, false
		lines := parent.Lines()
		if n := lines.Len(); n > 0 {
			size := lines.At(n-1).Stop - lines.At(0).Start
			b.allowed = size <= maxHeadingSource && size <= b.left
			if b.allowed {
				b.left -= size
			}
		}
	}
	if !b.allowed {
		return nil
	}
	return h.InlineParser.Parse(parent, block, pc)
}

// headingCloser is a headingOnly whose parser also needs to hear when a block closes
// (the link parser drops unmatched brackets then).
type headingCloser struct{ headingOnly }

// CloseBlock implements parser.CloseBlocker.
func (h headingCloser) CloseBlock(parent ast.Node, block text.Reader, pc parser.Context) {
	h.InlineParser.(parser.CloseBlocker).CloseBlock(parent, block, pc)
}

var bom = []byte("\xef\xbb\xbf")

// Parse reads the plan in src. It never fails: text that is not Markdown is a paragraph
// without tasks.
func Parse(src []byte) Plan {
	// goldmark does not skip a byte order mark, which would turn a first "# Title" into text.
	src = capPrefixes(bytes.TrimPrefix(src, bom))
	doc := markdown().Parse(text.NewReader(src))

	lead := Section{}
	var sections []Section
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*ast.Heading); ok {
			sections = append(sections, Section{Title: inlineText(h, src), Level: h.Level})
			continue
		}
		total, done := countTasks(n, src)
		if total == 0 {
			continue
		}
		s := &lead
		if len(sections) > 0 {
			s = &sections[len(sections)-1]
		}
		s.TasksTotal += total
		s.TasksDone += done
	}
	if lead.TasksTotal > 0 {
		sections = append([]Section{lead}, sections...)
	}

	var p Plan
	for i := range sections {
		s := &sections[i]
		s.Progress = ratio(s.TasksDone, s.TasksTotal)
		p.TasksTotal += s.TasksTotal
		p.TasksDone += s.TasksDone
	}
	p.Progress = ratio(p.TasksDone, p.TasksTotal)
	p.Sections = sections
	return p
}

func ratio(done, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(done) / float64(total)
}

// countTasks counts the task items in the top-level block n. Only lists and list items
// can hold tasks outside a block quote, so the walk descends through nothing else; it
// keeps its own stack because list nesting depth is up to the document.
func countTasks(n ast.Node, src []byte) (total, done int) {
	if _, ok := n.(*ast.List); !ok {
		return 0, 0
	}
	stack := []ast.Node{n}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch n := n.(type) {
		case *ast.List:
		case *ast.ListItem:
			if checked, ok := taskBox(n, src); ok {
				total++
				if checked {
					done++
				}
			}
		default:
			continue
		}
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			stack = append(stack, c)
		}
	}
	return total, done
}

// taskBox reports whether the list item is a GFM task item and whether it is checked:
// its first block is a paragraph that starts with a checkbox followed by whitespace.
func taskBox(item *ast.ListItem, src []byte) (checked, ok bool) {
	first := item.FirstChild()
	switch first.(type) {
	case *ast.Paragraph, *ast.TextBlock:
	default:
		return false, false // e.g. "- # [x] heading" holds a checkbox goldmark still parses
	}
	box, isBox := first.FirstChild().(*extast.TaskCheckBox)
	if !isBox {
		return false, false
	}
	// goldmark accepts "[ ]text"; GFM wants whitespace after the marker.
	if p := box.Pos(); p >= 0 && p+2 < len(src) && src[p] == '[' && src[p+2] == ']' {
		if p+3 < len(src) && !isSpace(src[p+3]) {
			return false, false
		}
	}
	return box.IsChecked, true
}

// isSpace reports whether c is a GFM whitespace character.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// inlineText renders the inline content of n as plain text with whitespace runs
// collapsed and invalid UTF-8 replaced, so that a title stores as a string.
func inlineText(n ast.Node, src []byte) string {
	var b strings.Builder
	stack := []ast.Node{}
	for c := n.LastChild(); c != nil; c = c.PreviousSibling() {
		stack = append(stack, c)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch n := n.(type) {
		case *ast.Text:
			v := n.Value(src)
			if !n.IsRaw() {
				v = unescape(v)
			}
			b.Write(v)
			if n.SoftLineBreak() || n.HardLineBreak() {
				b.WriteByte(' ')
			}
			continue
		case *ast.String:
			v := n.Value
			if !n.IsRaw() && !n.IsCode() {
				v = unescape(v)
			}
			b.Write(v)
			continue
		case *ast.AutoLink:
			b.Write(n.Label(src))
			continue
		case *ast.RawHTML, *extast.TaskCheckBox:
			continue
		}
		// Emphasis, links, images (their alt text), code spans, strikethrough: their text.
		for c := n.LastChild(); c != nil; c = c.PreviousSibling() {
			stack = append(stack, c)
		}
	}
	return cut(strings.ToValidUTF8(strings.Join(strings.Fields(b.String()), " "), "\uFFFD"))
}

// cut shortens s to at most maxTitle bytes, ending in "…" when it cuts.
func cut(s string) string {
	if len(s) <= maxTitle {
		return s
	}
	const ellipsis = "…"
	n := maxTitle - len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ellipsis
}

// unescape resolves backslash escapes and character references as a renderer would.
func unescape(v []byte) []byte {
	return util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
}

// capPrefixes returns src with every line's leading run of block markers cut to
// maxPrefix bytes. It copies only when some line needs the cut.
func capPrefixes(src []byte) []byte {
	var out []byte // nil until the first cut
	start := 0     // start of the current line in src
	done := 0      // src[:done] is already in out
	for start < len(src) {
		end := bytes.IndexByte(src[start:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += start + 1
		}
		run := 0
		for start+run < end && isMarker(src[start+run]) {
			run++
		}
		if run > maxPrefix {
			if out == nil {
				out = make([]byte, 0, len(src))
			}
			out = append(out, src[done:start+maxPrefix]...)
			done = start + run
		}
		start = end
	}
	if out == nil {
		return src
	}
	return append(out, src[done:]...)
}

// isMarker reports whether c can be part of a line's indentation or block markers:
// block quote, bullet and ordered list markers.
func isMarker(c byte) bool {
	switch c {
	case ' ', '\t', '>', '-', '*', '+', '.', ')':
		return true
	}
	return '0' <= c && c <= '9'
}
