// Package plan reads a project plan: a Markdown document whose GitHub task-list items
// ("- [ ] todo", "- [x] done") under headings give a project's progress per section.
//
// Parsing follows CommonMark and GitHub Flavored Markdown's task lists through goldmark,
// so what counts as a task is what GitHub renders as a checkbox:
//
//   - Task items may use any bullet ("-", "*", "+") or an ordered marker ("1.", "1)"), at
//     any nesting depth; "[x]" and "[X]" are done, "[ ]" is open.
//   - The marker must be followed by whitespace or the end of the line, as the GFM spec
//     says: "- [ ]todo" is plain text (goldmark alone would accept it).
//   - Items in fenced or indented code blocks, HTML blocks and comments, and block quotes
//     are not tasks. A list item without a checkbox is not a task, but task items nested
//     under it are.
//
// Sections come from top-level headings (ATX "#".."######" and setext), in document
// order. Each task counts once, in the section of the nearest heading before it; a
// section does not include the tasks of its subsections (Level lets a caller roll them
// up). Every heading is listed, even one with no tasks, so the plan's structure shows.
// Tasks before the first heading go to a leading section with an empty Title and Level 0,
// which is listed only when it holds at least one task. Headings inside list items or
// block quotes are content, not sections.
//
// Limits that keep a hostile plan cheap (goldmark needs time quadratic in some inputs:
// nesting on one line, long runs of link openers), none of which a real plan reaches:
//
//   - A line whose leading run of indentation and block markers (">", "-", "*", "+",
//     "1.") is longer than 128 bytes is read with that run cut to 128 bytes.
//   - A paragraph of more than 64 lines is not searched for link reference definitions.
//   - Only headings get inline parsing (emphasis, links, code spans), and only the
//     first 64 KiB of heading source in a plan; a heading whose source is longer than
//     512 bytes or beyond that budget keeps its markup as written.
//   - A Title is cut to 256 bytes, on a character boundary, ending in "…".
//
// The plan format as users write it, and the parser's performance figures, are in README.md
// in this folder.
package plan
