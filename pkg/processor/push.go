package processor

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/manifest"
	"github.com/repotrackr/github-integration/pkg/store"
)

// pushHandler re-reads the projects whose tracked branch a push changed, when the push
// touched the plan or a manifest.
type pushHandler struct{ p *Processor }

func (h *pushHandler) Handles() []string { return []string{"push"} }

func (h *pushHandler) Handle(ctx context.Context, d *Delivery) (Result, error) {
	env := d.Env
	relevant, reason, err := h.targets(ctx, d)
	if err != nil {
		return Result{}, err
	}
	if reason != "" {
		return ignored(reason), nil
	}
	// The directory gave what the relevance check needs; the read needs the whole project
	// (the last snapshot's manifests are not fetched again).
	relevant, err = h.p.wholeProjects(ctx, relevant, env.Repository)
	if err != nil {
		return Result{}, err
	}
	branch := strings.TrimPrefix(env.Push.Ref, "refs/heads/")
	push := env.Push

	rd := newRepoReader(h.p.gh)
	var summaries, ignore []string
	for _, pr := range relevant {
		src := source{
			InstallationID: env.InstallationID, Branch: branch, EventType: env.EventType, Action: env.Action,
			DeliveryID: env.DeliveryID, JobID: d.JobID, UpdateKey: store.UpdateKey(env.ReceivedAt, env.DeliveryID),
			Hints: push.Paths, Repository: env.Repository,
		}
		_, out, err := h.p.syncProject(ctx, rd, pr, src, d.Log.With(slog.String("project_id", pr.ID)))
		if isNotFound(err) {
			continue // deleted since the directory was read
		}
		if err != nil {
			return Result{}, fmt.Errorf("project %s: %w", pr.ID, err)
		}
		summaries = append(summaries, pr.ID+": "+out.summary)
		if out.ignore != "" {
			ignore = append(ignore, out.ignore)
		}
	}
	// Content too large for every project: nothing was read, and a retry would read
	// nothing either.
	if len(ignore) > 0 && len(ignore) == len(summaries) {
		return ignored(ignore[0]), nil
	}
	return processed(strings.Join(summaries, "; ")), nil
}

// targets returns the projects a push must re-read, or the reason to ignore it. It
// needs the store alone (the projects on the repository, read once per delivery:
// prejudge may have read them already), never GitHub.
func (h *pushHandler) targets(ctx context.Context, d *Delivery) ([]store.Project, string, error) {
	env := d.Env
	push := env.Push
	if reason := h.payloadReason(env); reason != "" {
		return nil, reason, nil
	}
	branch := strings.TrimPrefix(push.Ref, "refs/heads/")
	projects, err := d.repoProjects(ctx, h.p, env.Repository)
	if err != nil {
		return nil, "", err
	}
	if len(projects) == 0 {
		return nil, ReasonNoProject, nil
	}
	var tracking []store.Project
	for _, pr := range projects {
		if trackedBranch(pr, env.Repository.DefaultBranch) == branch {
			tracking = append(tracking, pr)
		}
	}
	if len(tracking) == 0 {
		return nil, fmt.Sprintf(reasonBranchUntracked, branch), nil
	}
	var relevant []store.Project
	for _, pr := range tracking {
		if pushRelevant(push.Paths, push.PathsIncomplete, pr.PlanPath) {
			relevant = append(relevant, pr)
		}
	}
	if len(relevant) == 0 {
		return nil, ReasonIrrelevant, nil
	}
	return relevant, "", nil
}

// payloadReason is why a push has nothing to do by its payload alone, or "".
func (h *pushHandler) payloadReason(env *envelope.Envelope) string {
	push := env.Push
	switch {
	case push == nil:
		return ReasonNoPayload
	case env.Repository == nil || env.Repository.FullName == "":
		return ReasonNoRepository
	case push.Deleted:
		return ReasonBranchDeleted
	case strings.HasPrefix(push.Ref, "refs/tags/"):
		return ReasonTagPush
	}
	if branch, ok := strings.CutPrefix(push.Ref, "refs/heads/"); !ok || branch == "" {
		return ReasonNotBranch
	}
	return ""
}

// prejudge tells from the delivery and the store alone whether the push has nothing to
// do (see prejudger).
func (h *pushHandler) prejudge(ctx context.Context, d *Delivery) (string, error) {
	if reason := h.payloadReason(d.Env); reason != "" {
		return reason, nil
	}
	_, reason, err := h.targets(ctx, d)
	return reason, err
}

// trackedBranch is the branch a project follows: its own, or the repository's default.
func trackedBranch(p store.Project, defaultBranch string) string {
	if p.Branch != "" {
		return strings.TrimPrefix(p.Branch, "refs/heads/")
	}
	return defaultBranch
}

// pushRelevant reports whether a push changed the plan (exact path) or a dependency
// manifest in any folder, or may have without saying so (incomplete path list).
func pushRelevant(paths []string, incomplete bool, planPath string) bool {
	if incomplete {
		return true
	}
	planPath = CleanPath(planPath)
	for _, p := range paths {
		if p == planPath || manifest.IsManifest(p) {
			return true
		}
	}
	return false
}

// repoProjects returns the projects of the delivery's repository, found by its id (a
// rename keeps it) or, for projects registered without the id, by its name. A project
// whose stored name or id is not the delivery's (the repository was renamed, or the
// project predates stored ids) comes back with the delivery's, so that it is read under
// the current name; the write that records the delivery stores them (followRepo).
func (p *Processor) repoProjects(ctx context.Context, repo *envelope.Repo) ([]store.Project, error) {
	projects, err := p.store.ProjectsOfRepo(ctx, repo.ID, repo.FullName)
	if err != nil {
		return nil, err
	}
	for i := range projects {
		projects[i].FollowRepo(repo.ID, repo.FullName)
	}
	return projects, nil
}

// wholeProjects reads the whole projects of partial ones (listed by the repository's
// directory) by key, with the delivery's repository name and id (see repoProjects). A
// project deleted since the directory listed it, or listed before it was written
// (pkg/store/directory.go), is left out.
func (p *Processor) wholeProjects(ctx context.Context, partial []store.Project, repo *envelope.Repo) ([]store.Project, error) {
	ids := make([]string, len(partial))
	for i, pr := range partial {
		ids[i] = pr.ID
	}
	projects, err := p.store.ProjectsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range projects {
		followRepo(&projects[i], repo)
	}
	return projects, nil
}

// followRepo records the repository's name and id a delivery carries in the project
// (store.Project.FollowRepo), reporting a change; nothing without a repository.
func followRepo(pr *store.Project, repo *envelope.Repo) bool {
	if repo == nil {
		return false
	}
	return pr.FollowRepo(repo.ID, repo.FullName)
}
