package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/manifest"
	"github.com/repotrackr/github-integration/pkg/plan"
	"github.com/repotrackr/github-integration/pkg/store"
)

// manifestReads bounds the concurrent manifest reads of one snapshot.
const manifestReads = 4

// source says why a project is read and where the update log entry goes.
type source struct {
	InstallationID int64 // 0: the project's own
	Branch         string
	EventType      string
	Action         string
	DeliveryID     string // "" for a registration
	JobID          string
	UpdateKey      string // the update log entry's key
	// Hints are paths a push named: manifests among them are read even without a
	// file listing.
	Hints []string
}

// SyncProject reads a project's tracked branch now (head commit, plan, manifests) and
// writes the snapshot, the project's status and progress, and one update log entry
// (event type "registration", job jobID). The API calls it when a project is
// registered, so that the project starts with a snapshot. It returns the project as
// stored. A repository the installation cannot read, or a branch that does not exist,
// is a project status (access_lost, plan_missing), not an error; errors are GitHub or
// DynamoDB failures (ghapp.IsRetryable tells which may pass later), or store.ErrNotFound
// when the project does not exist.
func (p *Processor) SyncProject(ctx context.Context, project store.Project, jobID string) (store.Project, error) {
	at := project.CreatedAt
	if at.IsZero() {
		at = p.now()
	}
	src := source{
		InstallationID: project.InstallationID,
		Branch:         project.Branch,
		EventType:      EventRegistration,
		JobID:          jobID,
		UpdateKey:      store.UpdateKey(at, EventRegistration+"#"+jobID),
	}
	out, _, err := p.syncProject(ctx, newRepoReader(p.gh), project, src, p.log.With(slog.String("project_id", project.ID)))
	return out, err
}

// syncProject is SyncProject for any source, reading through rd. It returns the
// project as stored and a one-line summary of what happened.
func (p *Processor) syncProject(ctx context.Context, rd *repoReader, project store.Project, src source, log *slog.Logger) (store.Project, string, error) {
	inst := src.InstallationID
	if inst == 0 {
		inst = project.InstallationID
	}
	if inst == 0 {
		return project, "", fmt.Errorf("project %s: no installation to read %s with", project.ID, project.Repo)
	}
	owner, name, ok := strings.Cut(project.Repo, "/")
	if !ok {
		return project, "", fmt.Errorf("project %s: repository %q is not owner/name", project.ID, project.Repo)
	}
	branch := src.Branch
	if branch == "" {
		branch = project.Branch
	}

	snap, statusErr, err := p.readSnapshot(ctx, rd, project, inst, owner, name, branch, src.Hints, log)
	var access *accessError
	if errors.As(err, &access) {
		return p.recordStatus(ctx, project, src, inst, access.status, access.msg)
	}
	if err != nil {
		return project, "", err
	}
	snap.DeliveryID = src.DeliveryID
	if _, err := p.store.PutSnapshot(ctx, snap); err != nil {
		return project, "", err
	}
	applied := false
	stored, _, err := p.store.MutateProject(ctx, project.ID, func(pr *store.Project) (bool, error) {
		applied = pr.ApplySnapshot(snap, statusErr)
		return adoptInstallation(pr, inst) || applied, nil
	})
	if err != nil {
		return project, "", err
	}
	summary := snapshotSummary(snap, applied)
	if err := p.appendUpdate(ctx, stored.ID, src, snap.CommitSHA, summary); err != nil {
		return stored, "", err
	}
	return stored, summary, nil
}

// recordStatus stores a status found while reading (access lost, branch missing) and
// logs it. access_lost and suspended are only lifted by installation events, which
// re-check access; a status found by reading never replaces them.
func (p *Processor) recordStatus(ctx context.Context, project store.Project, src source, inst int64, status, msg string) (store.Project, string, error) {
	stored, _, err := p.store.MutateProject(ctx, project.ID, func(pr *store.Project) (bool, error) {
		if pr.Status == store.ProjectSuspended || (pr.Status == store.ProjectAccessLost && status != store.ProjectAccessLost) {
			return false, nil
		}
		return pr.SetStatus(status, msg), nil
	})
	if err != nil {
		return project, "", err
	}
	summary := status + ": " + msg
	if err := p.appendUpdate(ctx, stored.ID, src, "", summary); err != nil {
		return stored, "", err
	}
	return stored, summary, nil
}

// adoptInstallation records the installation a project is read through when it changed
// (the App was installed again, under a new id).
func adoptInstallation(p *store.Project, inst int64) bool {
	if inst == 0 || p.InstallationID == inst {
		return false
	}
	p.InstallationID = inst
	return true
}

func (p *Processor) appendUpdate(ctx context.Context, projectID string, src source, sha, summary string) error {
	_, err := p.store.PutUpdate(ctx, store.Update{
		ProjectID: projectID, UpdateKey: src.UpdateKey, EventType: src.EventType, Action: src.Action,
		DeliveryID: src.DeliveryID, JobID: src.JobID, CommitSHA: sha, Summary: summary, At: p.now(),
	})
	return err
}

func snapshotSummary(s store.Snapshot, applied bool) string {
	var b strings.Builder
	if s.PlanFound {
		fmt.Fprintf(&b, "plan %d/%d tasks done", s.TasksDone, s.TasksTotal)
	} else {
		b.WriteString("plan not found")
	}
	fmt.Fprintf(&b, ", %d dependencies, at %s", len(s.Deps), shortSHA(s.CommitSHA))
	if !applied {
		b.WriteString(" (older than the latest snapshot, kept the newer)")
	}
	return b.String()
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// accessError is a read that ended in a project status rather than a snapshot.
type accessError struct{ status, msg string }

func (e *accessError) Error() string { return e.status + ": " + e.msg }

// readSnapshot reads the head of branch, the plan and the manifests at that commit.
// The status error explains a plan_missing status (plan too large).
func (p *Processor) readSnapshot(ctx context.Context, rd *repoReader, project store.Project, inst int64, owner, name, branch string, hints []string, log *slog.Logger) (store.Snapshot, string, error) {
	sha, at, err := rd.head(ctx, inst, owner, name, branch)
	if err != nil {
		return store.Snapshot{}, "", p.classifyHeadError(ctx, rd, inst, owner, name, branch, err)
	}
	planPath := CleanPath(project.PlanPath)
	snap := store.Snapshot{
		ProjectID: project.ID, CommitSHA: sha, CommitAt: at.UTC(), ReadAt: p.now().UTC(), PlanPath: planPath,
		Sections: []store.Section{}, Deps: []store.Dependency{},
	}
	statusErr := ""
	content, err := rd.file(ctx, inst, owner, name, planPath, sha)
	switch {
	case errors.Is(err, ghapp.ErrNotFound):
	case errors.Is(err, ghapp.ErrTooLarge):
		statusErr = fmt.Sprintf("plan file %s is larger than GitHub serves", planPath)
	case err != nil:
		return store.Snapshot{}, "", fmt.Errorf("read plan: %w", err)
	case len(content) > plan.MaxSize:
		statusErr = fmt.Sprintf("plan file %s is over %d bytes", planPath, plan.MaxSize)
	default:
		pl := plan.Parse(content)
		snap.PlanFound = true
		snap.TasksTotal, snap.TasksDone, snap.Progress = pl.TasksTotal, pl.TasksDone, pl.Progress
		for _, s := range pl.Sections {
			snap.Sections = append(snap.Sections, store.Section(s))
		}
	}

	candidates, err := p.manifestCandidates(ctx, rd, project, inst, owner, name, sha, hints, log)
	if err != nil {
		return store.Snapshot{}, "", err
	}
	found, deps, err := p.readManifests(ctx, rd, inst, owner, name, sha, candidates, log)
	if err != nil {
		return store.Snapshot{}, "", err
	}
	snap.Manifests, snap.Deps = found, deps
	return snap, statusErr, nil
}

// classifyHeadError turns a failed head read into a project status when the repository
// or branch is out of reach, and keeps it an error otherwise.
func (p *Processor) classifyHeadError(ctx context.Context, rd *repoReader, inst int64, owner, name, branch string, err error) error {
	if errors.Is(err, ghapp.ErrNoAccess) {
		return &accessError{store.ProjectAccessLost, "the installation cannot read the repository"}
	}
	if !errors.Is(err, ghapp.ErrNotFound) {
		return fmt.Errorf("read head: %w", err)
	}
	// GitHub answers 404 both for a repository the installation cannot see and, with
	// 422, for a missing branch: ask for the repository to tell them apart.
	if _, rerr := rd.gh.Repository(ctx, inst, owner, name); rerr != nil {
		if errors.Is(rerr, ghapp.ErrNotFound) || errors.Is(rerr, ghapp.ErrNoAccess) {
			return &accessError{store.ProjectAccessLost, "the repository is gone or the installation cannot read it"}
		}
		return fmt.Errorf("read repository: %w", rerr)
	}
	if branch == "" {
		return &accessError{store.ProjectPlanMissing, "the repository has no commit"}
	}
	return &accessError{store.ProjectPlanMissing, fmt.Sprintf("branch %s not found", branch)}
}

// manifestCandidates lists the manifest paths to read at sha: every manifest of the
// commit when the client can list files; otherwise, or when GitHub listed only part of a
// huge tree, (also) the root-level manifests, those of the previous snapshot and those
// the push named. Candidates that do not exist are skipped by readManifests.
func (p *Processor) manifestCandidates(ctx context.Context, rd *repoReader, project store.Project, inst int64, owner, name, sha string, hints []string, log *slog.Logger) ([]string, error) {
	var out []string
	if fl, ok := rd.gh.(FileLister); ok {
		files, err := rd.list(ctx, fl, inst, owner, name, sha)
		if err != nil && !errors.Is(err, ghapp.ErrTruncated) {
			return nil, fmt.Errorf("list files: %w", err)
		}
		for _, f := range files {
			if manifest.IsManifest(f) {
				out = append(out, f)
			}
		}
		if err == nil {
			slices.Sort(out)
			return slices.Compact(out), nil
		}
		log.Warn("file listing truncated, manifests past it are found only at the root, in the previous snapshot or in the push",
			slog.Int("files_listed", len(files)))
	}
	out = append(out, manifest.Names()...)
	if s := project.LatestSnapshot; s != nil {
		out = append(out, s.Manifests...)
	}
	for _, h := range hints {
		if h = CleanPath(h); manifest.IsManifest(h) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// readManifests reads the candidates that exist and parses them. A malformed manifest
// is listed without dependencies (and logged); a missing one is skipped.
func (p *Processor) readManifests(ctx context.Context, rd *repoReader, inst int64, owner, name, sha string, paths []string, log *slog.Logger) ([]string, []store.Dependency, error) {
	type result struct {
		found bool
		deps  []manifest.Dependency
		err   error
	}
	results := make([]result, len(paths))
	sem := make(chan struct{}, manifestReads)
	var wg sync.WaitGroup
	for i, pth := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			content, err := rd.file(ctx, inst, owner, name, pth, sha)
			switch {
			case errors.Is(err, ghapp.ErrNotFound):
				return
			case errors.Is(err, ghapp.ErrTooLarge):
				log.Warn("manifest too large, skipped", slog.String("manifest", pth))
				return
			case err != nil:
				results[i].err = fmt.Errorf("read manifest %s: %w", pth, err)
				return
			}
			results[i].found = true
			deps, err := manifest.Parse(pth, content)
			if err != nil {
				log.Warn("manifest not parsed", slog.String("manifest", pth), slog.String("err", err.Error()))
				return
			}
			results[i].deps = deps
		}()
	}
	wg.Wait()
	var (
		found []string
		deps  = []store.Dependency{}
	)
	for i, r := range results {
		if r.err != nil {
			return nil, nil, r.err
		}
		if !r.found {
			continue
		}
		found = append(found, paths[i])
		for _, d := range r.deps {
			deps = append(deps, store.Dependency(d))
		}
	}
	return found, deps, nil
}

// CleanPath normalises a repository path as GitHub writes it: no leading "./" or "/",
// no "." or empty segments.
func CleanPath(p string) string {
	p = strings.TrimSpace(p)
	for {
		switch {
		case strings.HasPrefix(p, "./"):
			p = p[2:]
		case strings.HasPrefix(p, "/"):
			p = p[1:]
		default:
			if p == "" {
				return ""
			}
			return path.Clean(p)
		}
	}
}

// repoReader reads one repository for one delivery, remembering what it read, so that
// several projects on the same repository cost one head read and one read per file.
type repoReader struct {
	gh    GitHub
	mu    sync.Mutex
	heads map[string]headResult
	files map[string]fileResult
	lists map[string]fileList
}

type headResult struct {
	sha string
	at  time.Time
	err error
}

type fileResult struct {
	data []byte
	err  error
}

// fileList is a listing of a commit's files; err may be a truncation, with files.
type fileList struct {
	files []string
	err   error
}

func newRepoReader(gh GitHub) *repoReader {
	return &repoReader{gh: gh, heads: map[string]headResult{}, files: map[string]fileResult{}, lists: map[string]fileList{}}
}

// list lists the files of a commit once, however many projects share the repository.
func (r *repoReader) list(ctx context.Context, fl FileLister, inst int64, owner, name, sha string) ([]string, error) {
	key := fmt.Sprintf("%d %s/%s %s", inst, owner, name, sha)
	r.mu.Lock()
	l, ok := r.lists[key]
	r.mu.Unlock()
	if !ok {
		l.files, l.err = fl.ListFiles(ctx, inst, owner, name, sha)
		r.mu.Lock()
		r.lists[key] = l
		r.mu.Unlock()
	}
	return l.files, l.err
}

func (r *repoReader) head(ctx context.Context, inst int64, owner, name, branch string) (string, time.Time, error) {
	key := fmt.Sprintf("%d %s/%s %s", inst, owner, name, branch)
	r.mu.Lock()
	h, ok := r.heads[key]
	r.mu.Unlock()
	if !ok {
		h.sha, h.at, h.err = r.gh.HeadCommit(ctx, inst, owner, name, branch)
		r.mu.Lock()
		r.heads[key] = h
		r.mu.Unlock()
	}
	return h.sha, h.at, h.err
}

func (r *repoReader) file(ctx context.Context, inst int64, owner, name, pth, sha string) ([]byte, error) {
	key := fmt.Sprintf("%d %s/%s %s %s", inst, owner, name, sha, pth)
	r.mu.Lock()
	f, ok := r.files[key]
	r.mu.Unlock()
	if !ok {
		f.data, f.err = r.gh.FileContent(ctx, inst, owner, name, pth, sha)
		r.mu.Lock()
		r.files[key] = f
		r.mu.Unlock()
	}
	return f.data, f.err
}
