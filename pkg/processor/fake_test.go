package processor

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
)

// fakeGitHub is a hand-written GitHub for unit tests: repositories with branches whose
// heads point at commits holding files, and installations.
type fakeGitHub struct {
	mu       sync.Mutex
	repos    map[string]*fakeRepo // lower-case owner/name
	installs map[int64]*fakeInstall
	fail     map[string][]error // op -> errors returned by the next calls
	calls    map[string]int
	forgot   []int64
}

type fakeRepo struct {
	defaultBranch string
	heads         map[string]string // branch -> sha
	commits       map[string]fakeCommit
	// installation, when set, is the only installation that can read the repository.
	installation int64
}

type fakeCommit struct {
	at    time.Time
	files map[string]string
}

type fakeInstall struct {
	account   string
	suspended bool
	repos     []string
}

// Operations, for fail and calls.
const (
	opHead  = "head"
	opFile  = "file"
	opRepo  = "repo"
	opInst  = "installation"
	opRepos = "installation_repositories"
	opList  = "list"
)

func newFakeGitHub() *fakeGitHub {
	return &fakeGitHub{repos: map[string]*fakeRepo{}, installs: map[int64]*fakeInstall{}, fail: map[string][]error{}, calls: map[string]int{}}
}

// commit makes a commit of files at time at the head of repo's branch and returns its
// SHA (derived from the content, so the same commit always has the same SHA).
func (f *fakeGitHub) commit(repo, branch string, at time.Time, files map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repoLocked(repo)
	h := sha1.New()
	fmt.Fprintf(h, "%s\n%s\n", branch, at.UTC().Format(time.RFC3339Nano))
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", n, files[n])
	}
	sha := hex.EncodeToString(h.Sum(nil))
	r.commits[sha] = fakeCommit{at: at.UTC(), files: files}
	r.heads[branch] = sha
	return sha
}

// setHead moves a branch to an existing commit (a force push back, or a stale read).
func (f *fakeGitHub) setHead(repo, branch, sha string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repoLocked(repo).heads[branch] = sha
}

func (f *fakeGitHub) repoLocked(repo string) *fakeRepo {
	key := strings.ToLower(repo)
	r, ok := f.repos[key]
	if !ok {
		r = &fakeRepo{defaultBranch: "main", heads: map[string]string{}, commits: map[string]fakeCommit{}}
		f.repos[key] = r
	}
	return r
}

func (f *fakeGitHub) setInstallation(id int64, in *fakeInstall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in == nil {
		delete(f.installs, id)
		return
	}
	f.installs[id] = in
}

// failNext makes the next calls of op fail with errs, in order.
func (f *fakeGitHub) failNext(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[op] = append(f.fail[op], errs...)
}

func (f *fakeGitHub) callCount(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeGitHub) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

// enter counts a call and returns its injected failure, if any.
func (f *fakeGitHub) enter(op string) error {
	f.calls[op]++
	if q := f.fail[op]; len(q) > 0 {
		f.fail[op] = q[1:]
		return q[0]
	}
	return nil
}

func errGone(what string) error     { return fmt.Errorf("fake: %s: %w", what, ghapp.ErrNotFound) }
func errNoAccess(what string) error { return fmt.Errorf("fake: %s: %w", what, ghapp.ErrNoAccess) }
func errRetryable(op string) error  { return &ghapp.APIError{Op: op, Status: 502, Retryable: true} }
func errRateLimited(op string) error {
	return &ghapp.RateLimitError{Op: op, InstallationID: 1, Wait: 10 * time.Minute}
}
func (f *fakeGitHub) ForgetInstallation(id int64) {
	f.mu.Lock()
	f.forgot = append(f.forgot, id)
	f.mu.Unlock()
}

func (f *fakeGitHub) visible(inst int64, owner, name string) (*fakeRepo, error) {
	r, ok := f.repos[strings.ToLower(owner+"/"+name)]
	if !ok || (r.installation != 0 && r.installation != inst) {
		return nil, errGone("repository " + owner + "/" + name)
	}
	if in, ok := f.installs[inst]; ok {
		if in.suspended {
			return nil, errNoAccess("installation suspended")
		}
		if !slices.ContainsFunc(in.repos, func(x string) bool { return strings.EqualFold(x, owner+"/"+name) }) {
			return nil, errGone("repository " + owner + "/" + name + " not covered")
		}
	}
	return r, nil
}

// reach counts a call of op and returns the repository it reads, as visible to the
// installation; f.mu is held.
func (f *fakeGitHub) reach(op string, inst int64, owner, name string) (*fakeRepo, error) {
	if err := f.enter(op); err != nil {
		return nil, err
	}
	return f.visible(inst, owner, name)
}

// commitAt is reach and the repository's commit ref.
func (f *fakeGitHub) commitAt(op string, inst int64, owner, name, ref string) (fakeCommit, error) {
	r, err := f.reach(op, inst, owner, name)
	if err != nil {
		return fakeCommit{}, err
	}
	c, ok := r.commits[ref]
	if !ok {
		return fakeCommit{}, errGone("ref " + ref)
	}
	return c, nil
}

func (f *fakeGitHub) HeadCommit(_ context.Context, inst int64, owner, name, branch string) (string, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.reach(opHead, inst, owner, name)
	if err != nil {
		return "", time.Time{}, err
	}
	if branch == "" {
		branch = r.defaultBranch
	}
	sha, ok := r.heads[branch]
	if !ok {
		return "", time.Time{}, errGone("branch " + branch)
	}
	return sha, r.commits[sha].at, nil
}

func (f *fakeGitHub) FileContent(_ context.Context, inst int64, owner, name, path, ref string, maxSize int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.commitAt(opFile, inst, owner, name, ref)
	if err != nil {
		return nil, err
	}
	content, ok := c.files[path]
	if !ok {
		return nil, errGone("file " + path)
	}
	if maxSize > 0 && int64(len(content)) > maxSize {
		return nil, fmt.Errorf("fake: file %s: %d bytes: %w", path, len(content), ghapp.ErrTooLarge)
	}
	return []byte(content), nil
}

func (f *fakeGitHub) Repository(_ context.Context, inst int64, owner, name string) (ghapp.Repository, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.reach(opRepo, inst, owner, name)
	if err != nil {
		return ghapp.Repository{}, err
	}
	return ghapp.Repository{Owner: owner, Name: name, FullName: owner + "/" + name, DefaultBranch: r.defaultBranch}, nil
}

func (f *fakeGitHub) Installation(_ context.Context, id int64) (ghapp.Installation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(opInst); err != nil {
		return ghapp.Installation{}, err
	}
	in, ok := f.installs[id]
	if !ok {
		return ghapp.Installation{}, errGone(fmt.Sprintf("installation %d", id))
	}
	out := ghapp.Installation{ID: id, AccountLogin: in.account, AccountType: "User", RepositorySelection: "selected"}
	if in.suspended {
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		out.SuspendedAt = &at
	}
	return out, nil
}

func (f *fakeGitHub) InstallationRepositories(_ context.Context, id int64) ([]ghapp.Repository, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(opRepos); err != nil {
		return nil, err
	}
	in, ok := f.installs[id]
	if !ok || in.suspended {
		return nil, errNoAccess(fmt.Sprintf("installation %d", id))
	}
	var out []ghapp.Repository
	for _, full := range in.repos {
		owner, name, _ := strings.Cut(full, "/")
		out = append(out, ghapp.Repository{Owner: owner, Name: name, FullName: full})
	}
	return out, nil
}

// listingGitHub is fakeGitHub with the optional file listing.
type listingGitHub struct{ *fakeGitHub }

func (l listingGitHub) ListFiles(_ context.Context, inst int64, owner, name, ref string) ([]ghapp.File, error) {
	f := l.fakeGitHub
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.commitAt(opList, inst, owner, name, ref)
	if err != nil {
		return nil, err
	}
	var out []ghapp.File
	for p, content := range c.files {
		out = append(out, ghapp.File{Path: p, Size: int64(len(content))})
	}
	slices.SortFunc(out, func(a, b ghapp.File) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}
