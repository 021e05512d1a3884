package api

import (
	"cmp"
	"slices"
	"time"

	"github.com/repotrackr/github-integration/pkg/store"
)

// projectView is a project as the API shows it: the stored project with its pull
// requests and issue tasks as lists (newest number first) rather than maps, and the
// pull request counts with a total.
type projectView struct {
	ID             string                `json:"id"`
	Repo           string                `json:"repo"`
	Owner          string                `json:"owner"`
	InstallationID int64                 `json:"installation_id"`
	PlanPath       string                `json:"plan_path"`
	Branch         string                `json:"branch"`
	IssueLabel     string                `json:"issue_label,omitempty"`
	IssueMilestone string                `json:"issue_milestone,omitempty"`
	Status         string                `json:"status"`
	StatusError    string                `json:"status_error,omitempty"`
	CreatedAt      time.Time             `json:"created_at"`
	LastUpdated    time.Time             `json:"last_updated"`
	LatestSnapshot *store.Snapshot       `json:"latest_snapshot"`
	Progress       store.ProgressSummary `json:"progress"`
	PullRequestSum pullRequestSummary    `json:"pull_request_summary"`
	Issues         store.IssueSummary    `json:"issues"`
	// The lists are in the single-project view only.
	PullRequests []store.PullRequestView `json:"pull_requests,omitzero"`
	IssueTasks   []store.IssueTask       `json:"issue_tasks,omitzero"`
}

// pullRequestSummary counts a project's pull requests by state.
type pullRequestSummary struct {
	store.PullRequestSummary
	Total int `json:"total"`
}

func projectSummaryView(p store.Project) projectView {
	v := projectView{
		ID: p.ID, Repo: p.Repo, Owner: p.Owner, InstallationID: p.InstallationID,
		PlanPath: p.PlanPath, Branch: p.Branch, IssueLabel: p.IssueLabel, IssueMilestone: p.IssueMilestone,
		Status: p.Status, StatusError: p.StatusError, CreatedAt: p.CreatedAt, LastUpdated: p.LastUpdated,
		Progress: p.Progress, Issues: p.IssueSummary,
		PullRequestSum: pullRequestSummary{PullRequestSummary: p.PullRequestSummary},
	}
	s := p.PullRequestSummary
	v.PullRequestSum.Total = s.Open + s.Draft + s.Merged + s.Closed
	if p.LatestSnapshot != nil {
		snap := snapshotView(*p.LatestSnapshot)
		v.LatestSnapshot = &snap
	}
	return v
}

func fullProjectView(p store.Project) projectView {
	v := projectSummaryView(p)
	v.PullRequests = make([]store.PullRequestView, 0, len(p.PullRequests))
	for _, pr := range p.PullRequests {
		v.PullRequests = append(v.PullRequests, pr)
	}
	slices.SortFunc(v.PullRequests, func(a, b store.PullRequestView) int { return cmp.Compare(b.Number, a.Number) })
	v.IssueTasks = make([]store.IssueTask, 0, len(p.Issues))
	for _, t := range p.Issues {
		v.IssueTasks = append(v.IssueTasks, t)
	}
	slices.SortFunc(v.IssueTasks, func(a, b store.IssueTask) int { return cmp.Compare(b.Number, a.Number) })
	return v
}

// snapshotView gives a snapshot empty lists rather than nulls.
func snapshotView(s store.Snapshot) store.Snapshot {
	if s.Sections == nil {
		s.Sections = []store.Section{}
	}
	if s.Deps == nil {
		s.Deps = []store.Dependency{}
	}
	return s
}
