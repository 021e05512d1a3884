package ghapp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

func TestParseRepo(t *testing.T) {
	valid := []string{
		"octo-org/plan.repo",
		" octo-org/plan.repo ",
		"github.com/octo-org/plan.repo",
		"https://github.com/octo-org/plan.repo",
		"https://github.com/octo-org/plan.repo/",
		"https://github.com/octo-org/plan.repo.git",
		"https://www.github.com/octo-org/plan.repo",
		"http://github.com/octo-org/plan.repo",
		"git@github.com:octo-org/plan.repo.git",
		"git@github.com:octo-org/plan.repo",
		"ssh://git@github.com/octo-org/plan.repo.git",
	}
	for _, s := range valid {
		owner, name, err := ParseRepo(s)
		if err != nil || owner != "octo-org" || name != "plan.repo" {
			t.Errorf("ParseRepo(%q) = %q, %q, %v; want octo-org, plan.repo", s, owner, name, err)
		}
	}
	invalid := []string{
		"", "octo", "octo/", "/repo", "a/b/c", "octo/repo/tree/main",
		"https://github.com/octo/repo/tree/main", "https://github.com/octo", "https://gitlab.com/octo/repo",
		"git@gitlab.com:octo/repo.git", "https://user:pw@github.com/octo/repo", "https://github.com/octo/repo?tab=readme",
		"-octo/repo", "octo/..", "octo/re po", "octo/repo#x", strings.Repeat("a", 40) + "/repo", "octo/" + strings.Repeat("r", 101),
		"example.com/octo/repo", "ftp://github.com/octo/repo",
	}
	for _, s := range invalid {
		if o, n, err := ParseRepo(s); !errors.Is(err, ErrInvalidRepo) {
			t.Errorf("ParseRepo(%q) = %q, %q, %v; want ErrInvalidRepo", s, o, n, err)
		}
	}
}

func TestValidateRepositoryAccess(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "octo-org", "plan", "docs/plan.md", "x")
	e.write(t, "octo-org", "private", "README.md", "x")
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 5, Account: "octo-org", AccountType: "Organization", Repos: []string{"octo-org/plan"}}); err != nil {
		t.Fatal(err)
	}
	sandbox, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	forms := []string{
		"octo-org/plan",
		"OCTO-ORG/Plan",
		"https://github.com/octo-org/plan",
		"https://github.com/octo-org/plan.git",
		"git@github.com:octo-org/plan.git",
		"ssh://git@github.com/octo-org/plan.git",
		e.url + "/octo-org/plan",
		e.url + "/octo-org/plan.git",
		"git@" + sandbox.Hostname() + ":octo-org/plan.git",
	}
	for _, f := range forms {
		t.Run(f, func(t *testing.T) {
			r, err := e.c.ValidateRepositoryAccess(ctx, f, 5)
			if err != nil {
				t.Fatalf("ValidateRepositoryAccess(%q, 5) = %v, want access", f, err)
			}
			if r.FullName != "octo-org/plan" || r.DefaultBranch != "main" || r.ID == 0 || r.Owner != "octo-org" || r.Name != "plan" {
				t.Errorf("repository = %+v, want octo-org/plan on main", r)
			}
		})
	}
	refusals := []struct {
		repo string
		want error
	}{
		{"octo-org/private", ErrNoAccess},
		{"octo-org/missing", ErrNoAccess},
		{"someone/else", ErrNoAccess},
		{"octo-org", ErrInvalidRepo},
		{"https://gitlab.com/octo-org/plan", ErrInvalidRepo},
		{"https://github.com/octo-org/plan/blob/main/docs/plan.md", ErrInvalidRepo},
		{"../etc/passwd", ErrInvalidRepo},
	}
	for _, tt := range refusals {
		t.Run(tt.repo, func(t *testing.T) {
			e.sb.ResetCalls()
			_, err := e.c.ValidateRepositoryAccess(ctx, tt.repo, 5)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ValidateRepositoryAccess(%q, 5) = %v, want %v", tt.repo, err, tt.want)
			}
			if tt.want == ErrInvalidRepo && len(e.sb.Calls()) != 0 {
				t.Errorf("malformed reference made %d calls, want none", len(e.sb.Calls()))
			}
		})
	}
	if _, err := e.c.ValidateRepositoryAccess(ctx, "octo-org/private", 1); err != nil {
		t.Errorf("installation 1 on octo-org/private = %v, want access", err)
	}
}

func TestInstallationRepositoriesAllPages(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	const n = 205
	for i := range n {
		e.write(t, "org", fmt.Sprintf("repo-%03d", i), "f", "x")
	}
	repos, err := e.c.InstallationRepositories(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != n || repos[0].FullName != "org/repo-000" || repos[n-1].FullName != "org/repo-204" {
		t.Fatalf("InstallationRepositories = %d repositories, want %d in order", len(repos), n)
	}
	if calls := e.sb.CountCalls("GET", "/installation/repositories"); calls != 3 {
		t.Errorf("pages fetched = %d, want 3", calls)
	}
}

func TestFileContent(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	plan := strings.Repeat("- [x] a finished task\n", 200)
	e.write(t, "o", "r", "docs/plan.md", plan)
	e.write(t, "o", "r", "docs/my plan #2.md", "spaces")
	e.write(t, "o", "r", "docs/sub/deep.txt", "deep")
	big := strings.Repeat("0123456789abcdef", (3<<20)/16) // 3 MiB: over the contents API's 1 MB
	e.write(t, "o", "r", "big.json", big)
	ctx := context.Background()
	head, _, err := e.sb.Head("o", "r")
	if err != nil {
		t.Fatal(err)
	}

	found := []struct{ path, ref, want string }{
		{"docs/plan.md", "", plan},
		{"/docs/plan.md", "main", plan},
		{"docs/plan.md", head, plan},
		{"docs/my plan #2.md", "", "spaces"},
		{"big.json", "", big},
	}
	for _, tt := range found {
		t.Run(tt.path+"@"+tt.ref, func(t *testing.T) {
			got, err := e.c.FileContent(ctx, 1, "o", "r", tt.path, tt.ref, 0)
			if err != nil || string(got) != tt.want {
				t.Fatalf("FileContent(%q, %q) = %d bytes, %v; want %d bytes", tt.path, tt.ref, len(got), err, len(tt.want))
			}
		})
	}
	if n := e.sb.CountCalls("GET", "/repos/o/r/git/blobs/*"); n != 1 {
		t.Errorf("blob calls = %d, want 1 (only the large file)", n)
	}
	missing := []struct {
		path, ref string
		notAFile  bool
	}{
		{"docs/nope.md", "", false},
		{"docs/plan.md", "feature", false},
		{"docs/../docs/plan.md", "", false},
		{"", "", false},
		{"docs", "", true},
		{"docs/sub", "", true},
	}
	for _, tt := range missing {
		t.Run("missing "+tt.path+"@"+tt.ref, func(t *testing.T) {
			_, err := e.c.FileContent(ctx, 1, "o", "r", tt.path, tt.ref, 0)
			if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotAFile) != tt.notAFile || IsRetryable(err) {
				t.Fatalf("FileContent(%q, %q) = %v, want ErrNotFound (ErrNotAFile %v)", tt.path, tt.ref, err, tt.notAFile)
			}
		})
	}
	// A size limit is decided from the contents API's size, before the blob is fetched
	// or inline content decoded.
	limits := []struct {
		path  string
		limit int64
		large bool
	}{
		{"big.json", 1 << 20, true},
		{"big.json", int64(len(big)), false},
		{"docs/plan.md", int64(len(plan)) - 1, true},
		{"docs/plan.md", int64(len(plan)), false},
	}
	for _, tt := range limits {
		t.Run(fmt.Sprintf("limit %s %d", tt.path, tt.limit), func(t *testing.T) {
			e.sb.ResetCalls()
			got, err := e.c.FileContent(ctx, 1, "o", "r", tt.path, "", tt.limit)
			if tt.large {
				if !errors.Is(err, ErrTooLarge) || IsRetryable(err) || got != nil {
					t.Fatalf("FileContent(%s, max %d) = %d bytes, %v; want ErrTooLarge, not retryable", tt.path, tt.limit, len(got), err)
				}
				if n := e.sb.CountCalls("GET", "/repos/o/r/git/blobs/*"); n != 0 {
					t.Errorf("blob calls = %d, want none for a file over the limit", n)
				}
				return
			}
			if err != nil || int64(len(got)) != tt.limit {
				t.Fatalf("FileContent(%s, max %d) = %d bytes, %v; want the whole file", tt.path, tt.limit, len(got), err)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		c := e.client(t, func(c *Config) { c.MaxFileSize = 2 << 20 })
		if _, err := c.FileContent(ctx, 1, "o", "r", "big.json", "", 0); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("FileContent(big) with a 2 MiB cap = %v, want ErrTooLarge", err)
		}
	})
}

func TestHeadCommit(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "o", "r", "docs/plan.md", "one")
	ctx := context.Background()
	wantSHA, wantAt, err := e.sb.Head("o", "r")
	if err != nil {
		t.Fatal(err)
	}
	for _, branch := range []string{"main", ""} {
		sha, at, err := e.c.HeadCommit(ctx, 1, "o", "r", branch)
		if err != nil || sha != wantSHA || !at.Equal(wantAt) || at.Location() != time.UTC {
			t.Errorf("HeadCommit(%q) = %s, %v, %v; want %s at %v UTC", branch, sha, at, err, wantSHA, wantAt)
		}
	}
	e.write(t, "o", "r", "docs/plan.md", "two")
	sha, at, err := e.c.HeadCommit(ctx, 1, "o", "r", "main")
	if err != nil || sha == wantSHA || !at.After(wantAt) {
		t.Errorf("HeadCommit after a write = %s at %v, %v; want a newer head", sha, at, err)
	}
	pinned := strings.Repeat("c", 40)
	old := wantAt.Add(-time.Hour)
	if err := e.sb.SetCommit("o", "r", pinned, old); err != nil {
		t.Fatal(err)
	}
	if sha, at, _ := e.c.HeadCommit(ctx, 1, "o", "r", "main"); sha != pinned || !at.Equal(old) {
		t.Errorf("HeadCommit of pinned head = %s at %v, want %s at %v", sha, at, pinned, old)
	}
	if _, _, err := e.c.HeadCommit(ctx, 1, "o", "r", "feature/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("HeadCommit(feature/x) = %v, want ErrNotFound", err)
	}
	if _, _, err := e.c.HeadCommit(ctx, 1, "o", "missing", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("HeadCommit of missing repository = %v, want ErrNotFound", err)
	}
}
