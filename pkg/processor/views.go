package processor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/store"
)

// pullRequestHandler keeps the pull request view of every project on the repository.
// Every action carries the pull request as it is after the event, so every action
// updates the view (review activity moves its updated time); an older event never
// replaces a newer view (store.Project.ApplyPullRequest).
type pullRequestHandler struct{ p *Processor }

func (h *pullRequestHandler) Handles() []string { return []string{"pull_request"} }

func (h *pullRequestHandler) Handle(ctx context.Context, d *Delivery) (Result, error) {
	env := d.Env
	pr := env.PullRequest
	if reason := h.payloadReason(env); reason != "" {
		return ignored(reason), nil
	}
	view := store.PullRequestView{
		Number:    pr.Number,
		Title:     pr.Title,
		State:     store.PullRequestState(pr.State, pr.Draft, pr.Merged),
		Author:    pr.Author,
		UpdatedAt: eventTime(pr.UpdatedAt, env),
	}
	return h.p.forEachProject(ctx, d, func(p *store.Project) (bool, string) {
		if p.ApplyPullRequest(view) {
			return true, fmt.Sprintf("pull request #%d %s", view.Number, view.State)
		}
		return false, fmt.Sprintf("pull request #%d unchanged (stored view is as new)", view.Number)
	})
}

// payloadReason is why a pull request event has nothing to do by its payload alone, or "".
func (h *pullRequestHandler) payloadReason(env *envelope.Envelope) string {
	if env.PullRequest == nil || env.PullRequest.Number == 0 {
		return ReasonNoPayload
	}
	return repoReason(env)
}

// prejudge tells from the delivery and the store alone whether the event has nothing to
// do (see prejudger).
func (h *pullRequestHandler) prejudge(ctx context.Context, d *Delivery) (string, error) {
	return h.p.prejudgeViews(ctx, d, h.payloadReason(d.Env))
}

// issueActions are the issues actions that can change a task: its state, its title, or
// whether it matches the project's label or milestone. The others (assigned, locked,
// pinned, ...) change none of that.
var issueActions = map[string]bool{
	"opened": true, "reopened": true, "closed": true, "edited": true,
	"labeled": true, "unlabeled": true, "milestoned": true, "demilestoned": true,
	"deleted": true, "transferred": true,
}

// issuesHandler keeps the issue tasks of every project on the repository.
type issuesHandler struct{ p *Processor }

func (h *issuesHandler) Handles() []string { return []string{"issues"} }

func (h *issuesHandler) Handle(ctx context.Context, d *Delivery) (Result, error) {
	env := d.Env
	is := env.Issue
	if reason := h.payloadReason(env); reason != "" {
		return ignored(reason), nil
	}
	return h.p.forEachProject(ctx, d, func(p *store.Project) (bool, string) {
		task := IssueTaskFor(*p, env.Action, is, eventTime(is.UpdatedAt, env))
		changed := p.ApplyIssue(task)
		what := "open"
		switch {
		case task.Removed != "":
			what = "removed (" + task.Removed + ")"
		case task.Done:
			what = "done"
		}
		if !changed {
			return false, fmt.Sprintf("issue #%d: no change (stored state is as new, or the project is at its issue limit)", is.Number)
		}
		return true, fmt.Sprintf("issue #%d %s; issues %d/%d done", is.Number, what, p.IssueSummary.Done, p.IssueSummary.Total)
	})
}

// payloadReason is why an issues event has nothing to do by its payload alone, or "".
func (h *issuesHandler) payloadReason(env *envelope.Envelope) string {
	switch {
	case env.Issue == nil || env.Issue.Number == 0:
		return ReasonNoPayload
	case !issueActions[env.Action]:
		return ReasonActionIgnored
	}
	return repoReason(env)
}

// prejudge tells from the delivery and the store alone whether the event has nothing to
// do (see prejudger).
func (h *issuesHandler) prejudge(ctx context.Context, d *Delivery) (string, error) {
	return h.p.prejudgeViews(ctx, d, h.payloadReason(d.Env))
}

// repoReason is why an event on a repository has nothing to do when it names none.
func repoReason(env *envelope.Envelope) string {
	if env.Repository == nil || env.Repository.FullName == "" {
		return ReasonNoRepository
	}
	return ""
}

// prejudgeViews is the pull request and issues handlers' prejudge: the payload's
// reason, else whether any project is on the repository — read once per delivery (with
// the delivery's entry: early.go), so the handler does not read again.
func (p *Processor) prejudgeViews(ctx context.Context, d *Delivery, payloadReason string) (string, error) {
	if payloadReason != "" {
		return payloadReason, nil
	}
	projects, err := d.repoProjects(ctx, p, d.Env.Repository)
	if err != nil || len(projects) > 0 {
		return "", err
	}
	return ReasonNoProject, nil
}

// IssueTaskFor is what an issue event means for a project: a removal for deleted and
// transferred issues and for issues outside the project's label or milestone filter
// (labels and milestones compare case-insensitively, as GitHub names them), else a task,
// done when the issue is closed.
func IssueTaskFor(p store.Project, action string, is *envelope.Issue, updated time.Time) store.IssueTask {
	t := store.IssueTask{Number: is.Number, Title: is.Title, UpdatedAt: updated}
	switch {
	case action == "deleted":
		t.Removed = store.IssueDeleted
	case action == "transferred":
		t.Removed = store.IssueTransferred
	case !issueMatches(p, is):
		t.Removed = store.IssueFiltered
	default:
		t.Done = is.State == "closed"
	}
	return t
}

func issueMatches(p store.Project, is *envelope.Issue) bool {
	if p.IssueMilestone != "" && !strings.EqualFold(p.IssueMilestone, is.Milestone) {
		return false
	}
	if p.IssueLabel == "" {
		return true
	}
	for _, l := range is.Labels {
		if strings.EqualFold(l, p.IssueLabel) {
			return true
		}
	}
	return false
}

// eventTime is the event's own updated time, or the delivery's receipt when the payload
// has none.
func eventTime(t *time.Time, env *envelope.Envelope) time.Time {
	if t != nil {
		return t.UTC()
	}
	return env.ReceivedAt.UTC()
}

// forEachProject applies change to every project on the delivery's repository (one
// conditional write each) and appends one update log entry per project. change must
// only compute from the project it is given: it runs again on a write conflict.
func (p *Processor) forEachProject(ctx context.Context, d *Delivery, change func(*store.Project) (bool, string)) (Result, error) {
	env := d.Env
	if reason := repoReason(env); reason != "" {
		return ignored(reason), nil
	}
	projects, err := d.repoProjects(ctx, p, env.Repository)
	if err != nil {
		return Result{}, err
	}
	if len(projects) == 0 {
		return ignored(ReasonNoProject), nil
	}
	src := source{EventType: env.EventType, Action: env.Action, DeliveryID: env.DeliveryID, JobID: d.JobID,
		UpdateKey: store.UpdateKey(env.ReceivedAt, env.DeliveryID)}
	var summaries []string
	for _, pr := range projects {
		var summary string
		stored, _, err := p.store.MutateProject(ctx, pr.ID, func(sp *store.Project) (bool, error) {
			var changed bool
			changed, summary = change(sp)
			followed := followRepo(sp, env.Repository)
			return changed || followed, nil
		})
		if isNotFound(err) {
			continue // deleted since the directory was read
		}
		if err != nil {
			return Result{}, fmt.Errorf("project %s: %w", pr.ID, err)
		}
		if err := p.appendUpdate(ctx, stored.ID, src, "", summary); err != nil {
			return Result{}, fmt.Errorf("project %s: %w", pr.ID, err)
		}
		summaries = append(summaries, pr.ID+": "+summary)
	}
	return processed(strings.Join(summaries, "; ")), nil
}
