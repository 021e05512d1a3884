package processor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/manifest"
	"github.com/repotrackr/github-integration/pkg/plan"
	"github.com/repotrackr/github-integration/pkg/store"
)

// manifestReads bounds the concurrent manifest reads of one snapshot.
const manifestReads = 4

// Limits on what one snapshot reads, so that a function's memory and a DynamoDB item
// stay bounded whatever a repository holds (pkg/processor/README.md, "Limits and
// memory").
const (
	// MaxPlanSize is the largest plan read (plan.MaxSize, 1 MiB); a larger one makes
	// the project plan_too_large and the delivery ignored.
	MaxPlanSize = plan.MaxSize
	// MaxManifestSize is the largest manifest read (manifest.MaxSize, 512 KiB); a
	// larger one is skipped.
	MaxManifestSize = manifest.MaxSize
	// MaxManifests is the most manifests read for one snapshot (one GitHub read each).
	MaxManifests = 50
	// maxManifestPath bounds a manifest's path, which every one of its dependencies
	// repeats in the item.
	maxManifestPath = 256
)

// parseSem bounds the bytes being parsed at once in this process, whatever the number
// of batches, repositories and manifests in flight: one semaphore per Lambda container.
// Parsing hostile input costs up to about 170 bytes of heap per byte (a plan of 1 MiB
// of deeply nested lists: ~175 MiB), so the budget is one largest plan: such a plan is
// parsed alone, two largest manifests side by side, and real plans and manifests, a
// few kilobytes, many at once.
var parseSem = semaphore.NewWeighted(parseBudget)

// parseBudget is the weight of parseSem, in bytes.
const parseBudget = MaxPlanSize

// acquireParse waits until n bytes may be parsed and returns the release.
func acquireParse(ctx context.Context, n int) (func(), error) {
	w := min(max(int64(n), 1), parseBudget)
	if err := parseSem.Acquire(ctx, w); err != nil {
		return nil, err
	}
	return func() { parseSem.Release(w) }, nil
}

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
	// Repository is the delivery's repository, whose current name and id the project
	// takes when it writes (a rename keeps the id); nil for a registration.
	Repository *envelope.Repo
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

// outcome is what one project's read came to: a one-line summary, and the reason to
// ignore the delivery when the content was too large to read (never retried: it stays
// too large until a new push).
type outcome struct {
	summary string
	ignore  string
}

// syncProject is SyncProject for any source, reading through rd. It returns the
// project as stored and what happened.
func (p *Processor) syncProject(ctx context.Context, rd *repoReader, project store.Project, src source, log *slog.Logger) (store.Project, outcome, error) {
	inst := src.InstallationID
	if inst == 0 {
		inst = project.InstallationID
	}
	if inst == 0 {
		return project, outcome{}, fmt.Errorf("project %s: no installation to read %s with", project.ID, project.Repo)
	}
	owner, name, ok := strings.Cut(project.Repo, "/")
	if !ok {
		return project, outcome{}, fmt.Errorf("project %s: repository %q is not owner/name", project.ID, project.Repo)
	}
	branch := src.Branch
	if branch == "" {
		branch = project.Branch
	}

	snap, statusErr, err := p.readSnapshot(ctx, rd, project, inst, owner, name, branch, src.Hints, log)
	var access *accessError
	if errors.As(err, &access) {
		return p.recordStatus(ctx, project, src, inst, access.status, access.msg, access.readAt)
	}
	if err != nil {
		return project, outcome{}, err
	}
	snap.DeliveryID = src.DeliveryID
	if _, err := p.store.PutSnapshot(ctx, snap); err != nil {
		return project, outcome{}, err
	}
	applied := false
	stored, _, err := p.store.MutateProject(ctx, project.ID, func(pr *store.Project) (bool, error) {
		applied = pr.ApplySnapshot(snap, statusErr)
		followed := followRepo(pr, src.Repository)
		return adoptInstallation(pr, inst) || applied || followed, nil
	})
	if err != nil {
		return project, outcome{}, err
	}
	out := outcome{summary: snapshotSummary(snap, applied)}
	if snap.PlanTooLarge {
		out.ignore = ReasonPlanTooLarge
		log.Warn("plan too large, not read", slog.String("status", store.ProjectPlanTooLarge), slog.String("plan_path", snap.PlanPath))
	}
	if err := p.appendUpdate(ctx, stored.ID, src, snap.CommitSHA, out.summary); err != nil {
		return stored, outcome{}, err
	}
	return stored, out, nil
}

// recordStatus stores a status found while reading the head at readAt (access lost,
// branch missing) and logs it. access_lost and suspended are only lifted by
// installation events, which re-check access; a status found by reading never replaces
// them, nor a later read (Project.SetReadStatus).
func (p *Processor) recordStatus(ctx context.Context, project store.Project, src source, inst int64, status, msg string, readAt time.Time) (store.Project, outcome, error) {
	stored, _, err := p.store.MutateProject(ctx, project.ID, func(pr *store.Project) (bool, error) {
		followed := followRepo(pr, src.Repository)
		if pr.Status == store.ProjectSuspended || (pr.Status == store.ProjectAccessLost && status != store.ProjectAccessLost) {
			return followed, nil
		}
		return pr.SetReadStatus(status, msg, readAt) || followed, nil
	})
	if err != nil {
		return project, outcome{}, err
	}
	summary := status + ": " + msg
	if err := p.appendUpdate(ctx, stored.ID, src, "", summary); err != nil {
		return stored, outcome{}, err
	}
	return stored, outcome{summary: summary}, nil
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
	switch {
	case s.PlanFound:
		fmt.Fprintf(&b, "plan %d/%d tasks done", s.TasksDone, s.TasksTotal)
	case s.PlanTooLarge:
		b.WriteString("plan too large, not read")
	default:
		b.WriteString("plan not found")
	}
	fmt.Fprintf(&b, ", %d dependencies", len(s.Deps))
	if s.Truncated {
		b.WriteString(" (truncated)")
	}
	fmt.Fprintf(&b, ", at %s", shortSHA(s.CommitSHA))
	if !applied {
		b.WriteString(" (read before the latest snapshot, kept the later read)")
	}
	return b.String()
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// accessError is a read that ended in a project status rather than a snapshot; readAt
// is when the head was asked for.
type accessError struct {
	status, msg string
	readAt      time.Time
}

func (e *accessError) Error() string { return e.status + ": " + e.msg }

// readSnapshot reads the head of branch, the plan and the manifests at that commit.
// A plan over MaxPlanSize is not read: the snapshot has PlanTooLarge and the status
// error says why.
func (p *Processor) readSnapshot(ctx context.Context, rd *repoReader, project store.Project, inst int64, owner, name, branch string, hints []string, log *slog.Logger) (store.Snapshot, string, error) {
	h := rd.head(ctx, p.now, inst, owner, name, branch)
	if h.err != nil {
		err := p.classifyHeadError(ctx, rd, inst, owner, name, branch, h.err)
		if access := (*accessError)(nil); errors.As(err, &access) {
			access.readAt = h.readAt
		}
		return store.Snapshot{}, "", err
	}
	sha := h.sha
	planPath := CleanPath(project.PlanPath)
	snap := store.Snapshot{
		ProjectID: project.ID, CommitSHA: sha, CommitAt: h.at.UTC(), ReadAt: h.readAt.UTC(), PlanPath: planPath,
		Sections: []store.Section{}, Deps: []store.Dependency{},
	}
	listing, err := p.listFiles(ctx, rd, inst, owner, name, sha, log)
	if err != nil {
		return store.Snapshot{}, "", err
	}

	statusErr := ""
	prev := reusable(project.LatestSnapshot)
	var f fileResult
	if pl, ok := reusedPlan(prev, planPath, listing.sha(planPath)); ok {
		f = fileResult{plan: pl}
	} else {
		f = rd.parsed(ctx, inst, owner, name, planPath, sha, listing.size(planPath), MaxPlanSize, parsePlan)
	}
	switch {
	case errors.Is(f.err, ghapp.ErrSymlink):
		// GitHub follows a symlinked plan to a file of the repository; any other target
		// (a folder, another symlink, a path outside the repository) has no plan to read.
		statusErr = fmt.Sprintf("plan file %s is a symlink whose target is not a file of the repository", planPath)
	case errors.Is(f.err, ghapp.ErrNotFound):
	case errors.Is(f.err, ghapp.ErrTooLarge):
		snap.PlanTooLarge = true
		statusErr = fmt.Sprintf("plan file %s is larger than %d MiB: not read", planPath, MaxPlanSize>>20)
	case f.err != nil:
		return store.Snapshot{}, "", fmt.Errorf("read plan: %w", f.err)
	default:
		pl := f.plan
		snap.PlanFound = true
		snap.PlanSHA = listing.sha(planPath)
		snap.TasksTotal, snap.TasksDone, snap.Progress = pl.TasksTotal, pl.TasksDone, pl.Progress
		for _, s := range pl.Sections {
			snap.Sections = append(snap.Sections, store.Section(s))
		}
	}

	candidates := manifestCandidates(project, listing, hints)
	found, deps, skipped, err := p.readManifests(ctx, rd, inst, owner, name, sha, listing, prev, candidates, log)
	if err != nil {
		return store.Snapshot{}, "", err
	}
	snap.Manifests, snap.Deps, snap.ManifestsSkipped = found, deps, skipped
	for _, m := range found {
		if sha := listing.sha(m); sha != "" {
			if snap.ManifestSHAs == nil {
				snap.ManifestSHAs = map[string]string{}
			}
			snap.ManifestSHAs[m] = sha
		}
	}
	snap.ReadVersion = parseVersion
	snap.Fit()
	return snap, statusErr, nil
}

// parseVersion is the version of plan and manifest parsing that a snapshot's
// ReadVersion records. Raise it when a parser's output changes: files parsed by an
// older version are then read again instead of taken from the previous snapshot.
const parseVersion = 1

// reusable returns the previous snapshot when its parse results may stand in for files
// of the same blob SHA: parsed by this version of the parsers.
func reusable(s *store.Snapshot) *store.Snapshot {
	if s == nil || s.ReadVersion != parseVersion {
		return nil
	}
	return s
}

// reusedPlan is the plan prev parsed from the blob sha at planPath, when prev has all of
// it (no section cut by Fit): a plan GitHub need not be asked for again.
func reusedPlan(prev *store.Snapshot, planPath, sha string) (plan.Plan, bool) {
	if prev == nil || sha == "" || !prev.PlanFound || prev.PlanSHA != sha || prev.PlanPath != planPath || prev.SectionsTotal != 0 {
		return plan.Plan{}, false
	}
	pl := plan.Plan{TasksTotal: prev.TasksTotal, TasksDone: prev.TasksDone, Progress: prev.Progress}
	for _, s := range prev.Sections {
		pl.Sections = append(pl.Sections, plan.Section(s))
	}
	return pl, true
}

// reusedDeps are the dependencies prev parsed from the manifest at pth of blob sha, when
// prev has all of them: none cut by Fit, by count or (possibly) by length.
func reusedDeps(prev *store.Snapshot, pth, sha string) ([]manifest.Dependency, bool) {
	if prev == nil || sha == "" || prev.DepsTotal != 0 || prev.ManifestSHAs[pth] != sha {
		return nil, false
	}
	var out []manifest.Dependency
	for _, d := range prev.Deps {
		if d.Manifest != pth {
			continue
		}
		// Fit cuts to a character boundary up to 3 bytes short of the limit.
		if len(d.Name) > store.MaxDependencyNameBytes-4 || len(d.Version) > store.MaxDependencyVersionBytes-4 {
			return nil, false
		}
		out = append(out, manifest.Dependency(d))
	}
	return out, true
}

// parsePlan parses a plan read by repoReader.parsed.
func parsePlan(_ string, content []byte) fileResult {
	return fileResult{plan: plan.Parse(content)}
}

// parseManifest parses a manifest read by repoReader.parsed.
func parseManifest(pth string, content []byte) fileResult {
	deps, err := manifest.Parse(pth, content)
	return fileResult{deps: deps, parseErr: err}
}

// classifyHeadError turns a failed head read into a project status when the repository
// or branch is out of reach, and keeps it an error otherwise.
func (p *Processor) classifyHeadError(ctx context.Context, rd *repoReader, inst int64, owner, name, branch string, err error) error {
	if errors.Is(err, ghapp.ErrNoAccess) {
		return &accessError{status: store.ProjectAccessLost, msg: "the installation cannot read the repository"}
	}
	if !errors.Is(err, ghapp.ErrNotFound) {
		return fmt.Errorf("read head: %w", err)
	}
	// GitHub answers 404 both for a repository the installation cannot see and, with
	// 422, for a missing branch: ask for the repository to tell them apart.
	if _, rerr := rd.gh.Repository(ctx, inst, owner, name); rerr != nil {
		if errors.Is(rerr, ghapp.ErrNotFound) || errors.Is(rerr, ghapp.ErrNoAccess) {
			return &accessError{status: store.ProjectAccessLost, msg: "the repository is gone or the installation cannot read it"}
		}
		return fmt.Errorf("read repository: %w", rerr)
	}
	if branch == "" {
		return &accessError{status: store.ProjectPlanMissing, msg: "the repository has no commit"}
	}
	return &accessError{status: store.ProjectPlanMissing, msg: fmt.Sprintf("branch %s not found", branch)}
}

// listing is what the processor knows of a commit's files: from the git trees API when
// the client can list (sizes included), else nothing.
type listing struct {
	files    []ghapp.File
	complete bool // every file is listed (false: no listing, or GitHub cut it short)
	sizes    map[string]int64
	shas     map[string]string // blob SHAs of the listed files, symlinks left out
}

// sha is a listed file's blob SHA, or "" when it is not known. A symlink has none: its
// blob is the target's path, which stays the same when the file read through it changes.
func (l listing) sha(pth string) string { return l.shas[pth] }

// size is a listed file's size, or -1 when it is not known.
func (l listing) size(pth string) int64 {
	if n, ok := l.sizes[pth]; ok {
		return n
	}
	return -1
}

// listFiles lists the commit's files when the client can (FileLister). A listing
// GitHub cut short is used as far as it goes.
func (p *Processor) listFiles(ctx context.Context, rd *repoReader, inst int64, owner, name, sha string, log *slog.Logger) (listing, error) {
	fl, ok := rd.gh.(FileLister)
	if !ok {
		return listing{}, nil
	}
	if _, err := rd.list(ctx, fl, inst, owner, name, sha); err != nil && !errors.Is(err, ghapp.ErrTruncated) {
		return listing{}, fmt.Errorf("list files: %w", err)
	}
	l, _ := rd.listed(inst, owner, name, sha)
	if !l.complete {
		log.Warn("file listing truncated, manifests past it are found only at the root, in the previous snapshot or in the push",
			slog.Int("files_listed", len(l.files)))
	}
	return l, nil
}

// manifestCandidates lists the manifest paths to read: every manifest of the commit
// when the listing is complete; otherwise (also) the root-level manifests, those of the
// previous snapshot and those the push named. Candidates that do not exist are skipped
// by readManifests.
func manifestCandidates(project store.Project, l listing, hints []string) []string {
	var out []string
	for _, f := range l.files {
		if manifest.IsManifest(f.Path) {
			out = append(out, f.Path)
		}
	}
	if !l.complete {
		out = append(out, manifest.Names()...)
		if s := project.LatestSnapshot; s != nil {
			out = append(out, s.Manifests...)
		}
		for _, h := range hints {
			if h = CleanPath(h); manifest.IsManifest(h) {
				out = append(out, h)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readManifests reads the candidates that exist and parses them; a manifest whose blob
// SHA prev (when not nil) parsed already is taken from prev, not read. At most MaxManifests
// are read, shallowest first (root manifests describe the project best), then by path;
// a manifest over MaxManifestSize (known from the listing, else from the contents
// API's size) or with a path over maxManifestPath bytes is not read. Those not read are
// counted in skipped. A malformed manifest is listed without dependencies (and
// logged); a missing one is skipped.
func (p *Processor) readManifests(ctx context.Context, rd *repoReader, inst int64, owner, name, sha string, l listing, prev *store.Snapshot, paths []string, log *slog.Logger) (found []string, deps []store.Dependency, skipped int, err error) {
	var chosen []string
	for _, pth := range paths {
		if len(pth) > maxManifestPath || l.size(pth) > MaxManifestSize {
			skipped++
			continue
		}
		chosen = append(chosen, pth)
	}
	slices.SortStableFunc(chosen, func(a, b string) int {
		return cmp.Compare(strings.Count(a, "/"), strings.Count(b, "/"))
	})
	if len(chosen) > MaxManifests {
		skipped += len(chosen) - MaxManifests
		chosen = chosen[:MaxManifests]
	}
	slices.Sort(chosen)
	if skipped > 0 {
		log.Warn("manifests not read: over the size or count limit", slog.Int("skipped", skipped), slog.Int("read", len(chosen)))
	}

	results := make([]fileResult, len(chosen))
	sem := make(chan struct{}, manifestReads)
	var wg sync.WaitGroup
	for i, pth := range chosen {
		if deps, ok := reusedDeps(prev, pth, l.sha(pth)); ok {
			results[i] = fileResult{deps: deps} // the same blob the previous snapshot parsed
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = rd.parsed(ctx, inst, owner, name, pth, sha, l.size(pth), MaxManifestSize, parseManifest)
		}()
	}
	wg.Wait()
	deps = []store.Dependency{}
	var tooLarge int
	for i, r := range results {
		switch {
		case errors.Is(r.err, ghapp.ErrNotFound):
			continue
		case errors.Is(r.err, ghapp.ErrTooLarge):
			tooLarge++
			continue
		case r.err != nil:
			return nil, nil, 0, fmt.Errorf("read manifest %s: %w", chosen[i], r.err)
		}
		found = append(found, chosen[i])
		if r.parseErr != nil {
			log.Warn("manifest not parsed", slog.String("manifest", chosen[i]), slog.String("err", r.parseErr.Error()))
			continue
		}
		for _, d := range r.deps {
			deps = append(deps, store.Dependency(d))
		}
	}
	if tooLarge > 0 {
		log.Warn("manifests too large, not read", slog.Int("count", tooLarge))
	}
	return found, deps, skipped + tooLarge, nil
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
// It keeps what was parsed from a file, not the content.
type repoReader struct {
	gh    GitHub
	mu    sync.Mutex
	heads map[string]headResult
	files map[string]fileResult
	lists map[string]listing
}

type headResult struct {
	sha    string
	at     time.Time // commit time
	readAt time.Time // when the head was asked for
	err    error
}

// fileResult is a file read and parsed: a plan or a manifest's dependencies.
type fileResult struct {
	plan     plan.Plan
	deps     []manifest.Dependency
	parseErr error // the manifest did not parse
	err      error // the file was not read: ghapp.ErrNotFound, ghapp.ErrTooLarge, or a failure
}

func newRepoReader(gh GitHub) *repoReader {
	return &repoReader{gh: gh, heads: map[string]headResult{}, files: map[string]fileResult{}, lists: map[string]listing{}}
}

// list lists the files of a commit once, however many projects share the repository.
func (r *repoReader) list(ctx context.Context, fl FileLister, inst int64, owner, name, sha string) ([]ghapp.File, error) {
	key := fmt.Sprintf("%d %s/%s %s", inst, owner, name, sha)
	r.mu.Lock()
	l, ok := r.lists[key]
	r.mu.Unlock()
	if ok {
		if l.complete {
			return l.files, nil
		}
		return l.files, ghapp.ErrTruncated
	}
	files, err := fl.ListFiles(ctx, inst, owner, name, sha)
	if err == nil || errors.Is(err, ghapp.ErrTruncated) {
		l = listing{files: files, complete: err == nil, sizes: make(map[string]int64, len(files)), shas: make(map[string]string, len(files))}
		for _, f := range files {
			// A symlink's size is its target path's length: the file read through it
			// may be of any size, which FileContent checks.
			if !f.Symlink {
				l.sizes[f.Path] = f.Size
				if f.SHA != "" {
					l.shas[f.Path] = f.SHA
				}
			}
		}
		r.mu.Lock()
		r.lists[key] = l
		r.mu.Unlock()
	}
	return files, err
}

// listed returns the listing of a commit read by list, if any.
func (r *repoReader) listed(inst int64, owner, name, sha string) (listing, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.lists[fmt.Sprintf("%d %s/%s %s", inst, owner, name, sha)]
	return l, ok
}

// head reads the head of a branch once per delivery. readAt is taken from now before
// the request is sent: a read that starts after a push always sees it, so ordering
// reads by their start lets the last read after the last push win (ordering by the
// answer's arrival would let an earlier, slower read win). Containers' clocks are kept
// within milliseconds of each other (Amazon Time Sync); reads closer together than that
// saw the same head, or are followed by the delivery of the push between them.
func (r *repoReader) head(ctx context.Context, now func() time.Time, inst int64, owner, name, branch string) headResult {
	key := fmt.Sprintf("%d %s/%s %s", inst, owner, name, branch)
	r.mu.Lock()
	h, ok := r.heads[key]
	r.mu.Unlock()
	if !ok {
		h.readAt = now().UTC()
		h.sha, h.at, h.err = r.gh.HeadCommit(ctx, inst, owner, name, branch)
		r.mu.Lock()
		r.heads[key] = h
		r.mu.Unlock()
	}
	return h
}

// parsed reads a file of at most maxSize bytes once per delivery and parses it with
// parse, within the process's parse budget. size is the file's size from the listing
// (-1 when unknown): a file known to be over maxSize is not fetched at all. Content
// over maxSize never reaches parse, whatever the client returned.
func (r *repoReader) parsed(ctx context.Context, inst int64, owner, name, pth, sha string, size, maxSize int64, parse func(string, []byte) fileResult) fileResult {
	key := fmt.Sprintf("%d %s/%s %s %d %s", inst, owner, name, sha, maxSize, pth)
	r.mu.Lock()
	f, ok := r.files[key]
	r.mu.Unlock()
	if ok {
		return f
	}
	f = r.readAndParse(ctx, inst, owner, name, pth, sha, size, maxSize, parse)
	if ctx.Err() == nil {
		r.mu.Lock()
		r.files[key] = f
		r.mu.Unlock()
	}
	return f
}

func (r *repoReader) readAndParse(ctx context.Context, inst int64, owner, name, pth, sha string, size, maxSize int64, parse func(string, []byte) fileResult) fileResult {
	if size > maxSize {
		return fileResult{err: fmt.Errorf("%s: %d bytes listed, over %d: %w", pth, size, maxSize, ghapp.ErrTooLarge)}
	}
	content, err := r.gh.FileContent(ctx, inst, owner, name, pth, sha, maxSize)
	if err != nil {
		return fileResult{err: err}
	}
	if int64(len(content)) > maxSize {
		return fileResult{err: fmt.Errorf("%s: %d bytes, over %d: %w", pth, len(content), maxSize, ghapp.ErrTooLarge)}
	}
	release, err := acquireParse(ctx, len(content))
	if err != nil {
		return fileResult{err: fmt.Errorf("%s: wait to parse: %w", pth, err)}
	}
	defer release()
	return parse(pth, content)
}
