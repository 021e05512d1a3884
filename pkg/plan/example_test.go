package plan_test

import (
	"fmt"

	"github.com/repotrackr/github-integration/pkg/plan"
)

// Parse counts GitHub task-list items per heading. A task counts once, in the section of
// the nearest heading above it; code blocks and "- [ ]text" (no space after the box) are
// not tasks, as GitHub renders no checkbox for them.
func Example() {
	src := []byte("# Roadmap\n" +
		"\n" +
		"- [x] write the design\n" +
		"\n" +
		"## **Phase 1** — [API](docs/api.md)\n" +
		"\n" +
		"- [x] routes\n" +
		"- [ ] pagination\n" +
		"  - [x] cursors\n" +
		"- plain item\n" +
		"  * [ ] nested under a plain item\n" +
		"\n" +
		"## Phase 2\n" +
		"\n" +
		"1. [X] ordered task, upper-case X\n" +
		"- [ ]not a task\n" +
		"\n" +
		"```\n" +
		"- [ ] inside a code block\n" +
		"```\n")

	p := plan.Parse(src)
	fmt.Printf("plan: %d of %d done (%.2f)\n", p.TasksDone, p.TasksTotal, p.Progress)
	for _, s := range p.Sections {
		fmt.Printf("h%d %q: %d of %d\n", s.Level, s.Title, s.TasksDone, s.TasksTotal)
	}
	// Output:
	// plan: 4 of 6 done (0.67)
	// h1 "Roadmap": 1 of 1
	// h2 "Phase 1 — API": 2 of 4
	// h2 "Phase 2": 1 of 1
}
