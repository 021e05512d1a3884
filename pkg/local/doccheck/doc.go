// Package doccheck checks that every relative link in the repository's Markdown files
// resolves — to a file or folder the repository tracks and, for a #fragment, to a heading
// of that Markdown file as GitHub anchors it — so that moving or renaming a file or a
// heading cannot silently break the documentation. Its test runs the check over
// `git ls-files` from the module root as part of `make test`.
//
// Links are read with goldmark (GitHub Flavored Markdown), so links inside code spans
// and code blocks are left alone, as GitHub leaves them. Absolute links (https:, mailto:)
// are not followed: the check runs offline.
package doccheck
