package store

// The processor's side of the projects table: finding the projects of a repository and
// changing what the processor owns in them (status, latest snapshot, pull request and
// issue views, progress). Every change is a read-modify-write made safe by a version
// number: the write is conditional on the version read, and retried on a conflict. The
// rules that decide whether a change applies (an earlier read of the branch head never
// replaces a later one; an older pull request or issue event never replaces a newer
// one) are methods of Project, so they hold whatever order deliveries arrive in.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	smithytime "github.com/aws/smithy-go/time"
	"github.com/guregu/dynamo/v2"
)

// Limits that keep a project item well inside DynamoDB's 400 KB.
const (
	// MaxClosedPullRequests is how many closed or merged pull requests a project keeps
	// (the most recently updated); open and draft ones are always kept.
	MaxClosedPullRequests = 100
	// MaxIssueTasks is the most issue tasks a project counts; a new issue beyond it is
	// not added (narrow the project with issue_label or issue_milestone).
	MaxIssueTasks = 2000
	// MaxTitleBytes is what pull request and issue titles are cut to.
	MaxTitleBytes = 200
	// TombstoneRetention is how long a removed issue is remembered, counted back from the
	// newest issue update the project has seen. A delivery arrives at most days late
	// (GitHub redelivers for three days, SQS keeps a message four), so a tombstone older
	// than this can no longer meet a late event about its issue.
	TombstoneRetention = 14 * 24 * time.Hour
	// mutateAttempts bounds the optimistic-concurrency retries of one change.
	mutateAttempts = 10
)

// Issue removal reasons (IssueTask.Removed).
const (
	IssueDeleted     = "deleted"     // terminal: the issue is gone
	IssueTransferred = "transferred" // terminal: the issue moved to another repository
	IssueFiltered    = "filtered"    // the issue does not match the project's label or milestone
)

// Pull request view states.
const (
	PullRequestOpen   = "open"
	PullRequestDraft  = "draft"
	PullRequestMerged = "merged"
	PullRequestClosed = "closed"
)

// ErrConflict is returned when a project change kept meeting concurrent writers.
var ErrConflict = errors.New("project changed concurrently too often")

// The projects table's indexes hold a project's keys and the few attributes the
// queries' callers decide on, never what a delivery changes (snapshot, views, progress,
// status): an ordinary project write then costs no index write, where four indexes of
// every attribute cost about 8 write units (pkg/processor/README.md, "Price per million
// deliveries"). The projects the queries return are therefore partial (ProjectIndexAttrs
// says what each holds); callers read the whole project by key (GetProject,
// ProjectsByID, MutateProject) when they need it.

// ProjectIndexAttrs are the attributes a project found through each index holds besides
// its id and the index's keys (template.yaml's INCLUDE projections; a test checks them).
var ProjectIndexAttrs = map[string][]string{
	// A push's relevance: the tracked branch and the plan's path.
	IndexProjectsByRepoID: {"branch", "plan_path"},
	// As by_repo_id (deliveries that name no id), and the installation an installation
	// event compares.
	IndexProjectsByRepo: {"branch", "plan_path", "installation_id"},
	// The repository, which an installation event checks for coverage.
	IndexProjectsByInst: {"repo"},
	// Keys only: the API's list reads the page's projects by key.
	IndexProjectsByOwner: nil,
}

// ProjectsByRepo returns every project tracking repo (owner/name, any case), through
// the by_repo index: partial projects (ProjectIndexAttrs).
func (s *Store) ProjectsByRepo(ctx context.Context, repo string) ([]Project, error) {
	var out []Project
	err := s.db.Table(s.tables.Projects).Get("repo", strings.ToLower(repo)).
		Index(IndexProjectsByRepo).All(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("projects of %s: %w", repo, err)
	}
	slices.SortFunc(out, func(a, b Project) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ProjectsByRepoID returns every project registered with GitHub's repository id, through
// the by_repo_id index: partial projects (ProjectIndexAttrs).
func (s *Store) ProjectsByRepoID(ctx context.Context, id int64) ([]Project, error) {
	var out []Project
	err := s.db.Table(s.tables.Projects).Get("repo_id", id).
		Index(IndexProjectsByRepoID).All(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("projects of repository %d: %w", id, err)
	}
	slices.SortFunc(out, func(a, b Project) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ProjectsByID reads whole projects by id (BatchGetItem, eventually consistent: one
// request per 100), in the order of ids. A project that does not exist (deleted since
// an index listed it) is left out.
func (s *Store) ProjectsByID(ctx context.Context, ids []string) ([]Project, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]dynamo.Keyed, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" || reservedID(id) || seen[id] {
			continue
		}
		seen[id] = true
		keys = append(keys, dynamo.Keys{id})
	}
	var got []Project
	err := s.db.Table(s.tables.Projects).Batch("id").Get(keys...).All(ctx, &got)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("read %d projects: %w", len(keys), err)
	}
	byID := make(map[string]Project, len(got))
	for _, p := range got {
		byID[p.ID] = p
	}
	out := make([]Project, 0, len(got))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
			delete(byID, id)
		}
	}
	return out, nil
}

// ProjectsOfRepo returns the projects of the repository a delivery names, found by its
// id alone (whatever name they were registered under, since a rename keeps the id): one
// read of the repository's directory (directory.go). Every project carries the id — CreateProject requires it, and BackfillRepoIDs
// gives it to projects registered before ids were kept — so a project found by its name
// is never needed here. id 0 (a delivery that names no id) finds by name. The projects
// are partial: the branch and plan path a push is judged by.
func (s *Store) ProjectsOfRepo(ctx context.Context, id int64, fullName string) ([]Project, error) {
	if id == 0 {
		return s.ProjectsByRepo(ctx, fullName)
	}
	return s.directoryProjects(ctx, id, false)
}

// FollowRepo records the repository's current name and id from a delivery: a renamed
// repository's project shows the new name, and one registered without the id gets it.
// It reports whether the project changed.
func (p *Project) FollowRepo(id int64, fullName string) bool {
	changed := false
	if fullName != "" && p.Repo != strings.ToLower(fullName) {
		p.Repo = strings.ToLower(fullName)
		changed = true
	}
	if id != 0 && p.RepoID == 0 {
		p.RepoID = id
		changed = true
	}
	return changed
}

// ProjectsByInstallation returns every project registered through installation id,
// through the by_installation index: an installation event finds them even when the
// installation's repositories were never stored. Partial projects (ProjectIndexAttrs).
func (s *Store) ProjectsByInstallation(ctx context.Context, id int64) ([]Project, error) {
	var out []Project
	err := s.db.Table(s.tables.Projects).Get("installation_id", id).
		Index(IndexProjectsByInst).All(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("projects of installation %d: %w", id, err)
	}
	slices.SortFunc(out, func(a, b Project) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// MutateProject reads project id (strongly consistent), lets fn change it, and writes
// back the attributes the processor owns when fn reports a change. The write is
// conditional on the version read; on a conflict the project is read again and fn runs
// again, so fn must only compute from the project it is given. It returns the project as
// stored and whether it changed. A project that does not exist (or was deleted
// meanwhile) is ErrNotFound.
func (s *Store) MutateProject(ctx context.Context, id string, fn func(p *Project) (bool, error)) (Project, bool, error) {
	for attempt := 1; attempt <= mutateAttempts; attempt++ {
		var p Project
		err := s.db.Table(s.tables.Projects).Get("id", id).Consistent(true).One(ctx, &p)
		if err != nil {
			return Project{}, false, fmt.Errorf("read project %s: %w", id, notFound(err))
		}
		hadRepoID := p.RepoID != 0
		changed, err := fn(&p)
		if err != nil || !changed {
			return p, false, err
		}
		if !hadRepoID && p.RepoID != 0 {
			// Given its id now (FollowRepo): listed before the write, as CreateProject
			// lists a new project (directory.go).
			if err := s.addToDirectory(ctx, p); err != nil {
				return Project{}, false, fmt.Errorf("write project %s: %w", id, err)
			}
		}
		read := p.Version
		p.Version++
		p.LastUpdated = s.now().UTC()
		err = s.writeProject(ctx, p, read)
		if err == nil {
			return p, true, nil
		}
		if !dynamo.IsCondCheckFailed(err) {
			return Project{}, false, fmt.Errorf("write project %s: %w", id, err)
		}
		if err := smithytime.SleepWithContext(ctx, time.Duration(attempt)*time.Duration(5+rand.IntN(20))*time.Millisecond); err != nil {
			return Project{}, false, fmt.Errorf("write project %s: %w", id, err)
		}
	}
	return Project{}, false, fmt.Errorf("write project %s: %w", id, ErrConflict)
}

// writeProject writes the processor's attributes of p if the stored version is still
// read and the project still exists (a deleted project is never brought back).
func (s *Store) writeProject(ctx context.Context, p Project, read int64) error {
	u := s.db.Table(s.tables.Projects).Update("id", p.ID).
		Set("status", p.Status).
		Set("status_error", p.StatusError).
		Set("last_updated", p.LastUpdated).
		Set("latest_snapshot", p.LatestSnapshot).
		Set("pull_requests", p.PullRequests).
		Set("issues", p.Issues).
		Set("issues_removed", p.IssuesRemoved).
		Set("issue_summary", p.IssueSummary).
		Set("pull_request_summary", p.PullRequestSummary).
		Set("progress", p.Progress).
		Set("version", p.Version)
	if !p.HeadReadAt.IsZero() {
		u.Set("head_read_at", p.HeadReadAt.UTC())
	}
	if p.InstallationID != 0 {
		u.Set("installation_id", p.InstallationID)
	}
	if p.Repo != "" {
		u.Set("repo", strings.ToLower(p.Repo))
	}
	if p.RepoID != 0 {
		u.Set("repo_id", p.RepoID)
	}
	if read == 0 {
		u.If("attribute_exists($) AND (attribute_not_exists($) OR $ = ?)", "id", "version", "version", 0)
	} else {
		u.If("attribute_exists($) AND $ = ?", "id", "version", read)
	}
	return u.Run(ctx)
}

// ApplySnapshot makes snap the project's latest snapshot unless the project already
// holds a later read of its branch: snap.ReadAt (when its head was asked for) before
// HeadReadAt. The branch head as read last is the truth, so a force push back to an
// older commit, or a commit made within the same second as the one before, is followed
// at once, while a slow worker's earlier read never replaces a later one; the version
// condition of MutateProject makes the check and the write one step. A read at the same
// instant is applied, so that a re-read refreshes. The status becomes active, or
// plan_missing when the plan was not found (statusError says why; a default is written
// when empty), or plan_too_large — except that access_lost and suspended stay: only
// the installation events, which re-check access, lift them. It reports whether the
// project changed.
func (p *Project) ApplySnapshot(snap Snapshot, statusError string) bool {
	if snap.ReadAt.Before(p.HeadReadAt) {
		return false
	}
	s := snap
	s.Fit()
	s.ProjectID = ""
	s.CommitAt = s.CommitAt.UTC()
	s.ReadAt = s.ReadAt.UTC()
	s.CommitKey = CommitKey(s.CommitAt, s.CommitSHA)
	p.LatestSnapshot = &s
	p.HeadReadAt = s.ReadAt
	if p.Status != ProjectAccessLost && p.Status != ProjectSuspended {
		switch {
		case s.PlanFound:
			p.Status, p.StatusError = ProjectActive, statusError
		case s.PlanTooLarge:
			if statusError == "" {
				statusError = fmt.Sprintf("plan file %s at %s is too large to read", s.PlanPath, shortSHA(s.CommitSHA))
			}
			p.Status, p.StatusError = ProjectPlanTooLarge, statusError
		default:
			if statusError == "" {
				statusError = fmt.Sprintf("plan file %s not found at %s", s.PlanPath, shortSHA(s.CommitSHA))
			}
			p.Status, p.StatusError = ProjectPlanMissing, statusError
		}
	}
	p.Recount()
	return true
}

// SetReadStatus sets a status found by reading the branch at readAt (the branch or
// repository is gone), unless the project holds a later read: the same ordering as
// ApplySnapshot. It reports whether the project changed.
func (p *Project) SetReadStatus(status, statusError string, readAt time.Time) bool {
	if readAt.Before(p.HeadReadAt) {
		return false
	}
	changed := p.SetStatus(status, statusError)
	if !readAt.Equal(p.HeadReadAt) {
		p.HeadReadAt = readAt.UTC()
		changed = true
	}
	return changed
}

// SetStatus sets the project's status and its explanation, reporting a change.
func (p *Project) SetStatus(status, statusError string) bool {
	if p.Status == status && p.StatusError == statusError {
		return false
	}
	p.Status, p.StatusError = status, statusError
	return true
}

// PullRequestState maps GitHub's pull request fields to a view state.
func PullRequestState(state string, draft, merged bool) string {
	switch {
	case merged:
		return PullRequestMerged
	case state == "closed":
		return PullRequestClosed
	case draft:
		return PullRequestDraft
	default:
		return PullRequestOpen
	}
}

// ApplyPullRequest stores v as the view of its pull request unless the stored view is
// newer: a later UpdatedAt wins; at the same UpdatedAt (GitHub's times are whole
// seconds) the further state wins (open < draft < closed < merged), then the greater
// title, so that any delivery order ends in the same view. It reports a change.
func (p *Project) ApplyPullRequest(v PullRequestView) bool {
	v.UpdatedAt = v.UpdatedAt.UTC()
	v.Title = cutTitle(v.Title)
	key := strconv.Itoa(v.Number)
	if cur, ok := p.PullRequests[key]; ok && comparePullRequests(v, cur) <= 0 {
		return false
	}
	if p.PullRequests == nil {
		p.PullRequests = map[string]PullRequestView{}
	}
	p.PullRequests[key] = v
	p.prunePullRequests()
	p.Recount()
	return true
}

func prRank(state string) int {
	switch state {
	case PullRequestDraft:
		return 1
	case PullRequestClosed:
		return 2
	case PullRequestMerged:
		return 3
	}
	return 0
}

func comparePullRequests(a, b PullRequestView) int {
	return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt),
		cmp.Compare(prRank(a.State), prRank(b.State)),
		strings.Compare(a.Title, b.Title),
		strings.Compare(a.Author, b.Author))
}

// prunePullRequests keeps every open or draft pull request and the
// MaxClosedPullRequests most recently updated closed or merged ones.
func (p *Project) prunePullRequests() {
	var closed []PullRequestView
	for _, v := range p.PullRequests {
		if v.State == PullRequestClosed || v.State == PullRequestMerged {
			closed = append(closed, v)
		}
	}
	if len(closed) <= MaxClosedPullRequests {
		return
	}
	slices.SortFunc(closed, func(a, b PullRequestView) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.Number, a.Number))
	})
	for _, v := range closed[MaxClosedPullRequests:] {
		delete(p.PullRequests, strconv.Itoa(v.Number))
	}
}

// ApplyIssue records what an issue event says about one issue: t.Removed empty makes it
// a task (Done when closed); IssueFiltered, IssueDeleted or IssueTransferred remove it
// and leave a tombstone. Deleted and transferred are final. Otherwise a later
// UpdatedAt wins; at the same UpdatedAt the further state wins (filtered < open <
// done), then the greater title. It reports a change.
func (p *Project) ApplyIssue(t IssueTask) bool {
	t.UpdatedAt = t.UpdatedAt.UTC()
	t.Title = cutTitle(t.Title)
	key := strconv.Itoa(t.Number)
	cur, live := p.Issues[key]
	if !live {
		var removed bool
		cur, removed = p.IssuesRemoved[key]
		if removed && isFinalRemoval(cur.Removed) && !isFinalRemoval(t.Removed) {
			return false
		}
		live = removed
	}
	if live && compareIssues(t, cur) <= 0 {
		return false
	}
	if t.Removed == "" {
		if _, ok := p.Issues[key]; !ok && len(p.Issues) >= MaxIssueTasks {
			return false
		}
		if p.Issues == nil {
			p.Issues = map[string]IssueTask{}
		}
		p.Issues[key] = t
		delete(p.IssuesRemoved, key)
	} else {
		t.Title, t.Done = "", false
		if p.IssuesRemoved == nil {
			p.IssuesRemoved = map[string]IssueTask{}
		}
		p.IssuesRemoved[key] = t
		delete(p.Issues, key)
	}
	p.pruneTombstones()
	p.Recount()
	return true
}

func isFinalRemoval(reason string) bool {
	return reason == IssueDeleted || reason == IssueTransferred
}

func issueRank(t IssueTask) int {
	switch {
	case isFinalRemoval(t.Removed):
		return 3
	case t.Removed != "":
		return 0
	case t.Done:
		return 2
	}
	return 1
}

func compareIssues(a, b IssueTask) int {
	// A final removal beats anything that is not one, whatever the times.
	if fa, fb := isFinalRemoval(a.Removed), isFinalRemoval(b.Removed); fa != fb {
		if fa {
			return 1
		}
		return -1
	}
	return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt),
		cmp.Compare(issueRank(a), issueRank(b)),
		strings.Compare(a.Removed, b.Removed),
		strings.Compare(a.Title, b.Title))
}

// pruneTombstones forgets removed issues last updated more than TombstoneRetention
// before the newest issue update the project has seen.
func (p *Project) pruneTombstones() {
	var newest time.Time
	for _, m := range []map[string]IssueTask{p.Issues, p.IssuesRemoved} {
		for _, t := range m {
			if t.UpdatedAt.After(newest) {
				newest = t.UpdatedAt
			}
		}
	}
	limit := newest.Add(-TombstoneRetention)
	for k, t := range p.IssuesRemoved {
		if t.UpdatedAt.Before(limit) {
			delete(p.IssuesRemoved, k)
		}
	}
}

// Recount derives the summaries and the progress from the pull requests, the issue
// tasks and the latest snapshot, and copies the issue summary into the latest snapshot.
func (p *Project) Recount() {
	var is IssueSummary
	for _, t := range p.Issues {
		is.Total++
		if t.Done {
			is.Done++
		}
	}
	is.Open = is.Total - is.Done
	p.IssueSummary = is

	var prs PullRequestSummary
	for _, v := range p.PullRequests {
		switch v.State {
		case PullRequestDraft:
			prs.Draft++
		case PullRequestMerged:
			prs.Merged++
		case PullRequestClosed:
			prs.Closed++
		default:
			prs.Open++
		}
	}
	p.PullRequestSummary = prs

	var planTotal, planDone int
	if s := p.LatestSnapshot; s != nil {
		s.Issues = is
		planTotal, planDone = s.TasksTotal, s.TasksDone
	}
	p.Progress = ProgressSummary{
		Plan:       Ratio(planDone, planTotal),
		Issues:     Ratio(is.Done, is.Total),
		Combined:   Ratio(planDone+is.Done, planTotal+is.Total),
		TasksTotal: planTotal + is.Total,
		TasksDone:  planDone + is.Done,
	}
}

// Ratio is done/total, 0 when total is 0.
func Ratio(done, total int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(done) / float64(total)
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// cutTitle cuts a title to MaxTitleBytes on a character boundary.
func cutTitle(s string) string {
	if len(s) <= MaxTitleBytes {
		return s
	}
	n := MaxTitleBytes
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ApplySnapshot applies snap to project id (Project.ApplySnapshot) and reports
// whether the project changed.
func (s *Store) ApplySnapshot(ctx context.Context, id string, snap Snapshot, statusError string) (Project, bool, error) {
	return s.MutateProject(ctx, id, func(p *Project) (bool, error) { return p.ApplySnapshot(snap, statusError), nil })
}

// ApplyPullRequest applies a pull request view to project id (Project.ApplyPullRequest).
func (s *Store) ApplyPullRequest(ctx context.Context, id string, v PullRequestView) (Project, bool, error) {
	return s.MutateProject(ctx, id, func(p *Project) (bool, error) { return p.ApplyPullRequest(v), nil })
}

// ApplyIssue applies an issue task or removal to project id (Project.ApplyIssue).
func (s *Store) ApplyIssue(ctx context.Context, id string, t IssueTask) (Project, bool, error) {
	return s.MutateProject(ctx, id, func(p *Project) (bool, error) { return p.ApplyIssue(t), nil })
}

// SetProjectStatus sets project id's status (Project.SetStatus).
func (s *Store) SetProjectStatus(ctx context.Context, id, status, statusError string) (Project, bool, error) {
	return s.MutateProject(ctx, id, func(p *Project) (bool, error) { return p.SetStatus(status, statusError), nil })
}
