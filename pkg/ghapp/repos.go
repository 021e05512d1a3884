package ghapp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

var (
	// GitHub logins: alphanumerics and hyphens, at most 39, not starting with a hyphen.
	ownerPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}$`) })
	repoPattern  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`) })
)

// ParseRepo parses a repository reference on github.com: "owner/repo",
// "github.com/owner/repo", "https://github.com/owner/repo" (optionally ".git" or a
// trailing slash), "git@github.com:owner/repo.git" or "ssh://git@github.com/owner/repo.git".
// Anything else, including URLs naming more than a repository (".../tree/main"), is
// ErrInvalidRepo.
func ParseRepo(s string) (owner, name string, err error) {
	return parseRepo(s, []string{"github.com", "www.github.com"})
}

// ParseRepo is the package ParseRepo that also accepts the host of Config.WebURL (GitHub
// Enterprise Server, the sandbox).
func (c *Client) ParseRepo(s string) (owner, name string, err error) {
	return parseRepo(s, c.repoHosts)
}

func parseRepo(s string, hosts []string) (owner, name string, err error) {
	invalid := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%w: %.200q: %s", ErrInvalidRepo, s, why)
	}
	hostOK := func(h string) bool {
		h = strings.ToLower(h)
		for _, a := range hosts {
			if h == a || (strings.Contains(a, ":") && h == strings.Split(a, ":")[0]) {
				return true
			}
		}
		return false
	}
	s = strings.TrimSpace(s)
	var rest string
	switch {
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "ssh://"):
		u, err := url.Parse(s)
		if err != nil {
			return invalid("not a URL")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return invalid("URL has a query or fragment")
		}
		if u.User != nil && (u.Scheme != "ssh" || u.User.Username() != "git") {
			return invalid("URL has credentials")
		}
		if !hostOK(u.Host) {
			return invalid("not a GitHub host")
		}
		rest = strings.Trim(u.Path, "/")
	case strings.HasPrefix(s, "git@"):
		host, path, ok := strings.Cut(strings.TrimPrefix(s, "git@"), ":")
		if !ok || !hostOK(host) {
			return invalid("not a GitHub host")
		}
		rest = strings.Trim(path, "/")
	default:
		if strings.ContainsAny(s, ":@?#\\ ") {
			return invalid("not owner/repo")
		}
		rest = s
		if first, after, ok := strings.Cut(rest, "/"); ok && strings.Contains(after, "/") && hostOK(first) {
			rest = after
		}
	}
	owner, name, ok := strings.Cut(strings.TrimSuffix(rest, ".git"), "/")
	if !ok || strings.Contains(name, "/") {
		return invalid("not owner/repo")
	}
	if !ownerPattern().MatchString(owner) {
		return invalid("invalid owner")
	}
	if !repoPattern().MatchString(name) || name == "." || name == ".." {
		return invalid("invalid repository name")
	}
	return owner, name, nil
}

func repositoryOf(r *github.Repository) Repository {
	return Repository{
		ID:            r.GetID(),
		Owner:         r.GetOwner().GetLogin(),
		Name:          r.GetName(),
		FullName:      r.GetFullName(),
		DefaultBranch: r.GetDefaultBranch(),
		Private:       r.GetPrivate(),
		Archived:      r.GetArchived(),
		HTMLURL:       r.GetHTMLURL(),
	}
}

// Repository reads a repository through the installation (ErrNotFound when the
// installation cannot see it).
func (c *Client) Repository(ctx context.Context, installationID int64, owner, repo string) (Repository, error) {
	var r *github.Repository
	err := c.instCall(ctx, installationID, opRepo, func(ctx context.Context, gh *github.Client) error {
		var err error
		r, _, err = gh.Repositories.Get(ctx, owner, repo)
		return err
	})
	if err != nil {
		return Repository{}, fmt.Errorf("repository %s/%s (installation %d): %w", owner, repo, installationID, err)
	}
	return repositoryOf(r), nil
}

// ValidateRepositoryAccess checks that the installation can read repo, given as any form
// ParseRepo (or the WebURL host) accepts. It returns ErrInvalidRepo for a malformed
// reference and ErrNoAccess when the repository does not exist or the installation
// cannot see it (GitHub does not tell the two apart) or is suspended or gone.
func (c *Client) ValidateRepositoryAccess(ctx context.Context, repo string, installationID int64) (Repository, error) {
	owner, name, err := c.ParseRepo(repo)
	if err != nil {
		c.audit(ctx, "repository_access_validated", installationID, "", err)
		return Repository{}, err
	}
	full := owner + "/" + name
	r, err := c.Repository(ctx, installationID, owner, name)
	if err != nil {
		var e *APIError
		if errors.Is(err, ErrNotFound) || (errors.As(err, &e) && e.Status == http.StatusForbidden && !e.Retryable) {
			err = fmt.Errorf("%w: installation %d cannot read %s", ErrNoAccess, installationID, full)
		}
		c.audit(ctx, "repository_access_validated", installationID, full, err)
		return Repository{}, err
	}
	c.audit(ctx, "repository_access_validated", installationID, r.FullName, nil)
	return r, nil
}

// InstallationRepositories lists every repository the installation covers (all pages).
func (c *Client) InstallationRepositories(ctx context.Context, installationID int64) ([]Repository, error) {
	out, err := allPages(ctx, func(ctx context.Context, opts *github.ListOptions) ([]Repository, *github.Response, error) {
		var page *github.ListRepositories
		var resp *github.Response
		err := c.instCall(ctx, installationID, opInstallationRepos, func(ctx context.Context, gh *github.Client) error {
			var err error
			page, resp, err = gh.Apps.ListRepos(ctx, opts)
			return err
		})
		return repositoriesOf(page), resp, err
	})
	if err != nil {
		err = fmt.Errorf("installation %d repositories: %w", installationID, err)
		c.audit(ctx, "installation_repositories_listed", installationID, "", err)
		return nil, err
	}
	c.audit(ctx, "installation_repositories_listed", installationID, "", nil, slog.Int("count", len(out)))
	return out, nil
}

// escapePath escapes each segment of a slash-separated path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// HeadCommit returns the SHA and committer date of the head of branch (the default
// branch when empty). A missing branch or an empty repository is ErrNotFound.
func (c *Client) HeadCommit(ctx context.Context, installationID int64, owner, repo, branch string) (string, time.Time, error) {
	if branch == "" {
		r, err := c.Repository(ctx, installationID, owner, repo)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("head commit: %w", err)
		}
		branch = r.DefaultBranch
	}
	var rc *github.RepositoryCommit
	err := c.instCall(ctx, installationID, opCommit, func(ctx context.Context, gh *github.Client) error {
		var err error
		rc, _, err = gh.Repositories.GetCommit(ctx, url.PathEscape(owner), url.PathEscape(repo), "heads/"+escapePath(branch), nil)
		return err
	})
	if err != nil {
		var e *APIError
		// 422: no such ref; 409: the repository is empty.
		if errors.As(err, &e) && (e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusConflict) {
			e.kind = ErrNotFound
		}
		return "", time.Time{}, fmt.Errorf("head commit of %s/%s@%s: %w", owner, repo, branch, err)
	}
	at := rc.GetCommit().GetCommitter().GetDate().Time
	if at.IsZero() {
		at = rc.GetCommit().GetAuthor().GetDate().Time
	}
	return rc.GetSHA(), at.UTC(), nil
}

// cleanFilePath validates a repository path: relative, no empty, "." or ".." segment.
func cleanFilePath(p string) (string, bool) {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "", false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
	}
	return p, true
}

// contentObject is the contents API's answer for one path.
type contentObject struct {
	Type     string `json:"type"`
	Encoding string `json:"encoding"`
	Content  string `json:"content"`
	SHA      string `json:"sha"`
	Size     int64  `json:"size"`
	Target   string `json:"target"` // a symlink's target
}

// contentsInlineLimit is the largest file GitHub returns as JSON from the contents API
// ("files up to 1 megabyte"); larger ones are a 403 too_large.
const contentsInlineLimit = 1_000_000

// mediaObject asks the contents API for an object whatever the path holds, with empty
// content and encoding "none" for files of 1–100 MB.
const mediaObject = "application/vnd.github.object+json"

// FileContent reads a file of at most maxSize bytes (Config.MaxFileSize when maxSize is
// 0 or more than it) at ref (the default branch when empty). A missing file is
// ErrNotFound; a directory or submodule is ErrNotAFile (and ErrNotFound, since no file
// is there). A symlink to a file of the repository reads that file (GitHub follows it);
// any other symlink is ErrSymlink (and ErrNotAFile, ErrNotFound), its error naming the
// target. A larger file is ErrTooLarge, decided from the size the contents API reports,
// before its content is decoded or fetched; GitHub's 403 too_large (a file over 1 MB
// asked for as JSON) is ErrTooLarge too when the limit is under 1 MB. Otherwise files
// over 1 MB are asked for with the object media type, which names their blob, and read
// as raw git blobs.
func (c *Client) FileContent(ctx context.Context, installationID int64, owner, repo, path, ref string, maxSize int64) ([]byte, error) {
	where := fmt.Sprintf("file %s in %s/%s", path, owner, repo)
	if ref != "" {
		where += "@" + ref
	}
	rel, ok := cleanFilePath(path)
	if !ok {
		return nil, fmt.Errorf("%s: %w: invalid path", where, ErrNotFound)
	}
	repoPath := "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
	u := repoPath + "/contents/" + escapePath(rel)
	if ref != "" {
		u += "?ref=" + url.QueryEscape(ref)
	}
	limit := c.maxFile
	if maxSize > 0 && maxSize < limit {
		limit = maxSize
	}
	get := func(accept string) (json.RawMessage, error) {
		var raw json.RawMessage
		err := c.instCall(ctx, installationID, opContents, func(ctx context.Context, gh *github.Client) error {
			req, err := gh.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			_, err = gh.Do(ctx, req, &raw)
			return err
		})
		return raw, err
	}
	raw, err := get("")
	if errors.Is(err, ErrTooLarge) && limit >= contentsInlineLimit {
		// GitHub returns files of 1–100 MB only with the object (or raw) media type; the
		// object answer names the size and blob SHA, so that the size is checked before
		// anything is fetched.
		raw, err = get(mediaObject)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if trimmed := strings.TrimSpace(string(raw)); strings.HasPrefix(trimmed, "[") {
		return nil, fmt.Errorf("%s: directory: %w (%w)", where, ErrNotAFile, ErrNotFound)
	}
	var obj contentObject
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%s: decode contents answer: %w", where, err)
	}
	switch obj.Type {
	case "file":
	case "symlink":
		// GitHub follows a symlink to a normal file of the repository and answers with
		// that file; this answer means the target is not one (a directory, a path
		// outside the repository, a missing file or another symlink).
		return nil, fmt.Errorf("%s: symlink to %.200q, which is not a file of the repository: %w (%w, %w)",
			where, obj.Target, ErrSymlink, ErrNotAFile, ErrNotFound)
	case "dir":
		// The object media type answers a directory with an object, not an array.
		return nil, fmt.Errorf("%s: directory: %w (%w)", where, ErrNotAFile, ErrNotFound)
	default:
		return nil, fmt.Errorf("%s: %s: %w (%w)", where, obj.Type, ErrNotAFile, ErrNotFound)
	}
	if obj.Size > limit {
		return nil, fmt.Errorf("%s: %d bytes, over %d: %w", where, obj.Size, limit, ErrTooLarge)
	}
	var data []byte
	switch {
	case obj.Encoding == "base64":
		// GitHub wraps the base64 in lines; the decoder skips the newlines.
		data, err = base64.StdEncoding.DecodeString(obj.Content)
		if err != nil {
			return nil, fmt.Errorf("%s: decode base64 content: %w", where, err)
		}
	case obj.Encoding == "none", obj.Encoding == "" && obj.Content == "" && obj.Size > 0:
		return c.blob(ctx, installationID, repoPath, obj, where, limit)
	case obj.Encoding == "":
		data = []byte(obj.Content)
	default:
		return nil, fmt.Errorf("%s: unsupported content encoding %q", where, obj.Encoding)
	}
	// The size field is GitHub's word; the content decides.
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: over %d bytes: %w", where, limit, ErrTooLarge)
	}
	return data, nil
}

// blob reads a large file of at most limit bytes as a raw git blob.
func (c *Client) blob(ctx context.Context, installationID int64, repoPath string, obj contentObject, where string, limit int64) ([]byte, error) {
	if obj.SHA == "" {
		return nil, fmt.Errorf("%s: large file without blob SHA", where)
	}
	var data []byte
	err := c.instCall(ctx, installationID, opBlob, func(ctx context.Context, gh *github.Client) error {
		req, err := gh.NewRequest(http.MethodGet, repoPath+"/git/blobs/"+url.PathEscape(obj.SHA), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/vnd.github.raw+json")
		resp, err := gh.BareDo(ctx, req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: blob %s: %w", where, obj.SHA, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: over %d bytes: %w", where, limit, ErrTooLarge)
	}
	return data, nil
}
