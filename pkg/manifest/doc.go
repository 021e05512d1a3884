// Package manifest detects a project's dependencies from the manifest files in its
// repository, so that a project shows its stack.
//
// Known manifests, matched by base name in any folder (case-sensitive, as GitHub paths
// are), and what is read from each:
//
//   - go.mod (Go modules): require directives, except "// indirect" ones, which the
//     project does not import itself.
//   - package.json (npm): dependencies, devDependencies, peerDependencies and
//     optionalDependencies; the version is the range as written.
//   - requirements.txt (PyPI): one PEP 508 requirement per line, backslash continuations
//     joined; comments, options ("-r", "-e", "--index-url", per-requirement "--hash"),
//     and bare URLs, paths and archives are skipped; extras and environment markers are
//     dropped; "name @ url" is listed without a version. UTF-16 with a byte order mark
//     is read too, as pip does.
//   - pyproject.toml (PyPI): PEP 621 [project] dependencies and optional-dependencies,
//     PEP 735 [dependency-groups], and Poetry's [tool.poetry.dependencies] (without
//     "python"), dev-dependencies and group dependencies.
//   - Cargo.toml (crates.io): [dependencies], [dev-dependencies], [build-dependencies],
//     their target-specific forms and [workspace.dependencies]; a renamed dependency is
//     listed under its crate name ("package").
//   - Dockerfile (Docker): the image of every FROM ("--platform=" and other flags and
//     "AS name" skipped), except "scratch" and earlier stages; the version is the tag
//     and/or digest. An image built from ARG variables ("golang:${GO}") is kept whole as
//     the name, unresolved. Here-documents and comments are skipped, "# escape=`" is
//     honoured; images in "COPY --from=" are not read.
//
// Every format accepts a UTF-8 byte order mark and CRLF line endings. TOML manifests
// whose arrays or inline tables nest deeper than 64 levels are malformed (the decoder's
// cost grows steeply with depth; real manifests nest two or three levels).
//
// PyPI names are normalised as PEP 503 says (lower case, runs of "-", "_", "." as "-");
// other names are kept as written. A version is the constraint as written ("^1.2",
// ">=2,<3", "v1.4.0", an image tag), empty when the manifest gives none.
//
// README.md in this folder lists the manifests as users see them.
package manifest
