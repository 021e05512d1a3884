package ghapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// File is one file of a tree listing.
type File struct {
	Path string
	// Size in bytes, as the git trees API reports it: callers skip what is too large
	// without fetching it. For a symlink it is the length of the target path.
	Size int64
	// Symlink is set for a symlink (mode 120000): FileContent reads the file it points
	// at when that is a file of the repository, so Size says nothing about it.
	Symlink bool
	// SHA is the git blob SHA of the entry: equal SHAs, equal content (for a symlink,
	// equal target path, whatever the target holds).
	SHA string
}

// Git modes of tree entries (type blob) that ListFiles tells apart.
const modeSymlink = "120000"

// ListFiles lists every file (blob: files, executables, symlinks) of the tree at ref with
// its size, sorted by path; submodules are not listed. ref is a
// commit SHA, a branch name or a tree SHA (the default branch when empty). It reads the
// git trees API recursively in one call. A missing ref or an empty repository is
// ErrNotFound. When GitHub cuts the listing short (trees over 100,000 entries or 7 MB),
// ListFiles returns the files it got and an error wrapping ErrTruncated; callers that can
// work with part of the tree use both.
func (c *Client) ListFiles(ctx context.Context, installationID int64, owner, repo, ref string) ([]File, error) {
	if ref == "" {
		r, err := c.Repository(ctx, installationID, owner, repo)
		if err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
		ref = r.DefaultBranch
	}
	where := fmt.Sprintf("files of %s/%s@%s", owner, repo, ref)
	var tr *github.Tree
	err := c.instCall(ctx, installationID, opTree, func(ctx context.Context, gh *github.Client) error {
		var err error
		tr, _, err = gh.Git.GetTree(ctx, url.PathEscape(owner), url.PathEscape(repo), escapePath(ref), true)
		return err
	})
	if err != nil {
		var e *APIError
		// 409: the repository is empty; 422: GitHub could not resolve the ref.
		if errors.As(err, &e) && (e.Status == http.StatusConflict || e.Status == http.StatusUnprocessableEntity) {
			e.kind = ErrNotFound
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	var files []File
	for _, e := range tr.Entries {
		// Trees are folders and commits are submodules: neither is a file of this
		// repository. Blobs are files (100644), executables (100755) and symlinks (120000).
		if e.GetType() == "blob" {
			files = append(files, File{Path: e.GetPath(), Size: int64(e.GetSize()), Symlink: e.GetMode() == modeSymlink, SHA: e.GetSHA()})
		}
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	if tr.GetTruncated() {
		return files, fmt.Errorf("%s: %d files listed: %w", where, len(files), ErrTruncated)
	}
	return files, nil
}
