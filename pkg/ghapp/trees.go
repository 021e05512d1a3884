package ghapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/google/go-github/v60/github"
)

// ListFiles lists the paths of every file (blob) of the tree at ref, sorted: ref is a
// commit SHA, a branch name or a tree SHA (the default branch when empty). It reads the
// git trees API recursively in one call. A missing ref or an empty repository is
// ErrNotFound. When GitHub cuts the listing short (trees over 100,000 entries or 7 MB),
// ListFiles returns the files it got and an error wrapping ErrTruncated; callers that can
// work with part of the tree use both.
func (c *Client) ListFiles(ctx context.Context, installationID int64, owner, repo, ref string) ([]string, error) {
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
	var files []string
	for _, e := range tr.Entries {
		// Trees are folders and commits are submodules: neither is a file of this repository.
		if e.GetType() == "blob" {
			files = append(files, e.GetPath())
		}
	}
	slices.Sort(files)
	if tr.GetTruncated() {
		return files, fmt.Errorf("%s: %d files listed: %w", where, len(files), ErrTruncated)
	}
	return files, nil
}
