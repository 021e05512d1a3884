package plan

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

// sec builds an expected section; progress follows from the counts.
func sec(title string, level, total, done int) Section {
	return Section{Title: title, Level: level, TasksTotal: total, TasksDone: done, Progress: ratio(done, total)}
}

// plan builds an expected plan from its sections.
func plan(sections ...Section) Plan {
	var p Plan
	for _, s := range sections {
		p.TasksTotal += s.TasksTotal
		p.TasksDone += s.TasksDone
	}
	p.Progress = ratio(p.TasksDone, p.TasksTotal)
	p.Sections = sections
	return p
}

var parseCases = []struct {
	name string
	in   string
	want Plan
}{
	{"empty document", "", plan()},
	{"only whitespace", " \n\n\t\n", plan()},
	{"no tasks", "# Title\n\nSome text.\n\n- a\n- b\n", plan(sec("Title", 1, 0, 0))},
	{"bullet markers and uppercase X", "- [ ] a\n- [x] b\n* [X] c\n+ [ ] d\n", plan(sec("", 0, 4, 2))},
	{"ordered lists", "1. [x] a\n2. [ ] b\n\n3) [x] c\n", plan(sec("", 0, 3, 2))},
	{"nested at any depth", "# P\n- [ ] a\n  - [x] b\n    - [x] c\n      1. [ ] d\n        * [x] e\n",
		plan(sec("P", 1, 5, 3))},
	{"plain parent item with task children", "# P\n- plain\n  - [x] child\n  - [ ] child 2\n- also plain\n",
		plan(sec("P", 1, 2, 1))},
	{"fenced code is not tasks", "# P\n```\n- [x] a\n```\n~~~md\n- [ ] b\n~~~\n- [ ] real\n",
		plan(sec("P", 1, 1, 0))},
	{"unclosed fence swallows the rest", "# P\n- [x] real\n```\n- [x] a\n# not a heading\n",
		plan(sec("P", 1, 1, 1))},
	{"indented code is not tasks", "# P\n\n    - [x] a\n    - [ ] b\n\n- [ ] real\n", plan(sec("P", 1, 1, 0))},
	{"HTML comments are not tasks", "<!-- - [x] a -->\n<!--\n- [x] b\n-->\n- [ ] c\n", plan(sec("", 0, 1, 0))},
	{"HTML block is not tasks", "<div>\n- [x] a\n</div>\n", plan()},
	{"list after a blank line in details is Markdown", "<details>\n\n- [x] a\n\n</details>\n", plan(sec("", 0, 1, 1))},
	{"block quotes are not tasks", "> - [x] a\n> - [ ] b\n\n- [ ] c\n", plan(sec("", 0, 1, 0))},
	{"block quote inside a task item", "- [ ] a\n  > - [x] quoted\n", plan(sec("", 0, 1, 0))},
	{"no whitespace after the box", "- [ ]a\n- [x]b\n- [x] c\n", plan(sec("", 0, 1, 1))},
	{"box alone on the line", "- [x]\n- [ ]\n", plan(sec("", 0, 2, 1))},
	{"box at end of input", "- [x]", plan(sec("", 0, 1, 1))},
	{"box then tab", "- [x]\ta\n", plan(sec("", 0, 1, 1))},
	{"not boxes", "- []\n- [x ]\n- [ x]\n- [a]\n- a [x]\n- [[x]]\n", plan()},
	{"box not first in item", "- text\n  [x] later\n", plan()},
	{"escaped marker is not a list", "\\- [x] a\n", plan()},
	{"task text with link", "- [x] [link](https://example.com) done\n", plan(sec("", 0, 1, 1))},
	{"table cells are not tasks", "| a | b |\n|---|---|\n| - [x] | c |\n", plan()},
	{"setext headings", "Phase one\n=========\n- [x] a\n\nPhase two\n---------\n- [ ] b\n",
		plan(sec("Phase one", 1, 1, 1), sec("Phase two", 2, 1, 0))},
	{"setext heading over two lines", "Two\nlines\n===\n", plan(sec("Two lines", 1, 0, 0))},
	{"heading inline markup",
		"# **Bold** _em_ `code` [link](http://x) ![alt](i.png) <span>html</span> ~~gone~~ \\*lit\\* &amp; &#35;1 ##\n",
		plan(sec("Bold em code link alt html gone *lit* & #1", 1, 0, 0))},
	{"heading autolink", "## See <https://example.com> now\n", plan(sec("See https://example.com now", 2, 0, 0))},
	{"heading levels", "###### Six\n- [x] a\n####### Seven is text\n",
		plan(sec("Six", 6, 1, 1))},
	{"empty heading", "#\n- [x] a\n", plan(sec("", 1, 1, 1))},
	{"tasks before the first heading", "- [x] a\n- [ ] b\n# One\n- [x] c\n",
		plan(sec("", 0, 2, 1), sec("One", 1, 1, 1))},
	{"sections without tasks are listed", "# A\n## B\n- [x] a\n## C\n# D\n",
		plan(sec("A", 1, 0, 0), sec("B", 2, 1, 1), sec("C", 2, 0, 0), sec("D", 1, 0, 0))},
	{"subsection tasks count once", "# Phase\n- [ ] a\n## Sub\n- [x] b\n- [x] c\n### Deeper\n- [ ] d\n# Next\n- [x] e\n",
		plan(sec("Phase", 1, 1, 0), sec("Sub", 2, 2, 2), sec("Deeper", 3, 1, 0), sec("Next", 1, 1, 1))},
	{"heading in a list item is not a section", "# Top\n- # Inside\n- [x] a\n- # [x] heading box\n",
		plan(sec("Top", 1, 1, 1))},
	{"heading in a block quote is not a section", "# Top\n> # Quoted\n\n- [x] a\n", plan(sec("Top", 1, 1, 1))},
	{"loose list", "- [x] a\n\n- [ ] b\n\n  more text\n", plan(sec("", 0, 2, 1))},
	{"CRLF line endings", "Phase\r\n=====\r\n\r\n- [x] a\r\n- [ ]\r\n  - [X] b\r\n\r\n## Two\r\n```\r\n- [x] c\r\n```\r\n",
		plan(sec("Phase", 1, 3, 2), sec("Two", 2, 0, 0))},
	{"byte order mark", "\ufeff# Title\n- [x] a\n", plan(sec("Title", 1, 1, 1))},
	{"tab indentation", "# T\n- [ ] a\n\t- [x] b\n\t\t- [x] c\n-\t[ ] d\n", plan(sec("T", 1, 4, 2))},
	{"not Markdown at all", "\x00\xff\xfe binary \x01 [x]", plan()},
	{"invalid UTF-8 in a heading", "# a\xffb\n", plan(sec("a\uFFFDb", 1, 0, 0))},

	// The documented cuts that keep hostile plans cheap.
	{"64 levels of nesting", nested(64), plan(sec("", 0, 64, 64))},
	// From level 65 the markers lie beyond 128 bytes: the cut drops them and those
	// lines continue the text of level 64.
	{"deeper nesting is cut", nested(100), plan(sec("", 0, 64, 64))},
	{"reference link in a heading", refs(3) + "\n# [Phase][r1]\n", plan(sec("Phase", 1, 0, 0))},
	{"references beyond 64 lines are not searched", refs(65) + "\n# [Phase][r1]\n", plan(sec("[Phase][r1]", 1, 0, 0))},
	{"long heading keeps its markup", "# **" + strings.Repeat("a", 600) + "**\n",
		plan(sec("**"+strings.Repeat("a", 251)+"…", 1, 0, 0))},
	{"long title is cut on a character boundary", "# " + longTitle + "\n",
		plan(sec(longTitle[:252]+"…", 1, 0, 0))},
	{"title of exactly the limit is kept", "# " + strings.Repeat("b", 256) + "\n",
		plan(sec(strings.Repeat("b", 256), 1, 0, 0))},
}

var longTitle = strings.Repeat("é", 200) // 400 bytes

// nested is a task list depth levels deep, one task a level.
func nested(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat("  ", i))
		b.WriteString("- [x] t\n")
	}
	return b.String()
}

// refs is n link reference definitions, r0 to r(n-1).
func refs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[r%d]: https://example.com/%d\n", i, i)
	}
	return b.String()
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse([]byte(tc.in))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%.60q…) = %.300v, want %.300v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseFiles(t *testing.T) {
	tests := []struct {
		file string
		want Plan
	}{
		{"roadmap.md", plan(
			sec("RepoTrackr roadmap", 1, 1, 1),
			sec("Phase 1 — Foundations", 2, 5, 4),
			sec("Phase 2: Webhooks", 2, 6, 2),
			sec("2.1 Stretch goals", 3, 0, 0),
			sec("Phase 3: Dashboard", 2, 2, 0),
		)},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			src := testkit.Testdata(t, tc.file)
			if got := Parse(src); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%s) = %+v, want %+v", tc.file, got, tc.want)
			}
			// The same plan with Windows line endings reads the same.
			crlf := []byte(strings.ReplaceAll(string(src), "\n", "\r\n"))
			if got := Parse(crlf); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%s with CRLF) = %+v, want %+v", tc.file, got, tc.want)
			}
		})
	}
}

func TestParsePlan300(t *testing.T) {
	got := Parse(testkit.Testdata(t, "plan300.md"))
	if got.TasksTotal != 300 {
		t.Errorf("Parse(plan300.md).TasksTotal = %d, want 300", got.TasksTotal)
	}
	checkInvariants(t, got)
}

// TestParseConcurrent shares the package's goldmark instance between goroutines; run
// with -race.
func TestParseConcurrent(t *testing.T) {
	src := testkit.Testdata(t, "roadmap.md")
	want := Parse(src)
	var wg sync.WaitGroup
	got := make([]Plan, 8)
	for i := range got {
		wg.Go(func() { got[i] = Parse(src) })
	}
	wg.Wait()
	for i, g := range got {
		if !reflect.DeepEqual(g, want) {
			t.Errorf("concurrent Parse #%d = %+v, want %+v", i, g, want)
		}
	}
}

func TestParseInlineBudget(t *testing.T) {
	// 200 headings of about 500 bytes: the first spend the 64 KiB budget, the last
	// keep their markup.
	src := strings.Repeat("# **Phase** "+strings.Repeat("x", 500)+"\n", 200)
	got := Parse([]byte(src))
	if len(got.Sections) != 200 {
		t.Fatalf("Parse(200 headings) has %d sections, want 200", len(got.Sections))
	}
	if first := got.Sections[0].Title; !strings.HasPrefix(first, "Phase x") {
		t.Errorf("Parse(200 headings).Sections[0].Title = %.20q…, want markup stripped", first)
	}
	if last := got.Sections[199].Title; !strings.HasPrefix(last, "**Phase** x") {
		t.Errorf("Parse(200 headings).Sections[199].Title = %.20q…, want markup kept", last)
	}
}

// hostile holds 1 MiB inputs that make goldmark slow without the package's limits.
var hostile = map[string]string{
	"nested quotes":        ">",
	"nested lists":         "- ",
	"list per line":        strings.Repeat("- ", 64) + "[x] a\n",
	"reference defs":       "[a]: b\n",
	"link openers":         "[a](",
	"heading link openers": "# " + strings.Repeat("[a](", 127) + "\n",
	"heading brackets":     "# " + strings.Repeat("[", 500) + "\n",
	"tasks":                "- [x] a\n",
}

func hostileInput(unit string, size int) []byte {
	return []byte(strings.Repeat(unit, size/len(unit)))
}

func TestParseHostile(t *testing.T) {
	for name, unit := range hostile {
		t.Run(name, func(t *testing.T) {
			// A quarter of MaxSize keeps the test quick under -race; the benchmark
			// reads the full size.
			checkInvariants(t, Parse(hostileInput(unit, MaxSize/4)))
		})
	}
}

// checkInvariants holds for any input: counts add up and progress is a fraction.
func checkInvariants(t *testing.T, p Plan) {
	t.Helper()
	if p.TasksDone < 0 || p.TasksDone > p.TasksTotal {
		t.Errorf("done = %d, total = %d, want 0 <= done <= total", p.TasksDone, p.TasksTotal)
	}
	if p.Progress < 0 || p.Progress > 1 || (p.TasksTotal == 0 && p.Progress != 0) {
		t.Errorf("progress = %v with %d tasks, want in [0, 1] and 0 without tasks", p.Progress, p.TasksTotal)
	}
	var total, done int
	for i, s := range p.Sections {
		total += s.TasksTotal
		done += s.TasksDone
		if s.TasksDone < 0 || s.TasksDone > s.TasksTotal || s.Progress < 0 || s.Progress > 1 {
			t.Errorf("section %d = %+v, want 0 <= done <= total and progress in [0, 1]", i, s)
		}
		if len(s.Title) > maxTitle || !utf8.ValidString(s.Title) {
			t.Errorf("section %d title = %q, want valid UTF-8 of at most %d bytes", i, s.Title, maxTitle)
		}
		if s.Level < 0 || s.Level > 6 || (s.Level == 0 && (i != 0 || s.Title != "" || s.TasksTotal == 0)) {
			t.Errorf("section %d = %+v, want level 1..6, or 0 only for a first, untitled section with tasks", i, s)
		}
	}
	if total != p.TasksTotal || done != p.TasksDone {
		t.Errorf("sections sum to %d/%d, want plan's %d/%d", done, total, p.TasksDone, p.TasksTotal)
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in))
	}
	for _, name := range []string{"roadmap.md", "plan300.md"} {
		f.Add(testkit.Testdata(f, name))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkInvariants(t, Parse(src))
	})
}

// BenchmarkParseHostile reads 1 MiB inputs that would take minutes without the
// package's limits.
func BenchmarkParseHostile(b *testing.B) {
	for name, unit := range hostile {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			src := hostileInput(unit, MaxSize)
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				Parse(src)
			}
		})
	}
}

// BenchmarkParse reads a realistic plan of 300 tasks in phases and subsections.
func BenchmarkParse(b *testing.B) {
	src := testkit.Testdata(b, "plan300.md")
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(src)
	}
}
