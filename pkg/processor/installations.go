package processor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/store"
)

// repoQueries bounds the concurrent by_repo queries of one installation event.
const repoQueries = 8

// Project status explanations set by installation events.
const (
	msgUninstalled = "the App was uninstalled"
	msgSuspended   = "the installation is suspended"
	msgNotCovered  = "the installation no longer covers this repository"
)

// installationActions are the actions handled, by event type.
var installationActions = map[string]map[string]bool{
	"installation":              {"created": true, "deleted": true, "suspend": true, "unsuspend": true, "new_permissions_accepted": true},
	"installation_repositories": {"added": true, "removed": true},
}

// installationHandler keeps installations and the access status of their projects in
// step with GitHub. Level-triggered like the rest: whatever the action, it reads the
// installation (and, when active, its repositories) from GitHub now and stores that, so
// that suspend/unsuspend or removed/added delivered in any order end in GitHub's
// state. Projects on repositories the installation lost are marked access_lost (or
// suspended), never deleted; projects on repositories it covers again are read again
// at once.
type installationHandler struct{ p *Processor }

func (h *installationHandler) Handles() []string {
	return []string{"installation", "installation_repositories"}
}

func (h *installationHandler) Handle(ctx context.Context, d *Delivery) (Result, error) {
	env := d.Env
	if !installationActions[env.EventType][env.Action] {
		return ignored(ReasonActionIgnored), nil
	}
	id := env.InstallationID
	if env.Installation != nil && env.Installation.ID != 0 {
		id = env.Installation.ID
	}
	if id == 0 {
		return ignored(ReasonNoInstallation), nil
	}
	p := h.p
	switch env.Action {
	case "deleted", "suspend", "new_permissions_accepted":
		// Cached tokens are dead or carry old permissions.
		p.gh.ForgetInstallation(id)
	}

	prev, err := p.store.GetInstallation(ctx, id)
	if err != nil && !isNotFound(err) {
		return Result{}, err
	}
	cur, err := p.readInstallation(ctx, id, env.Installation, prev)
	if err != nil {
		return Result{}, err
	}
	stored, err := p.store.PutInstallation(ctx, cur)
	if errors.Is(err, store.ErrStale) {
		// A worker with a fresher read stored its state and updates the projects.
		return processed(fmt.Sprintf("installation %d: a newer state is already stored", id)), nil
	}
	if err != nil {
		return Result{}, err
	}

	covered := map[string]bool{}
	for _, r := range stored.Repositories {
		covered[r] = true
	}
	affected := store.NormalizeRepos(slices.Concat(prev.Repositories, stored.Repositories, envRepos(env.Installation)))
	projects, err := p.projectsOf(ctx, affected)
	if err != nil {
		return Result{}, err
	}
	// Projects registered through this installation count too, even when its repositories
	// were never stored (its created event was lost and nobody installed through the API).
	own, err := p.store.ProjectsByInstallation(ctx, id)
	if err != nil {
		return Result{}, err
	}
	for _, pr := range own {
		if !slices.ContainsFunc(projects, func(q store.Project) bool { return q.ID == pr.ID }) {
			projects = append(projects, pr)
		}
	}
	src := source{InstallationID: id, EventType: env.EventType, Action: env.Action, DeliveryID: env.DeliveryID,
		JobID: d.JobID, UpdateKey: store.UpdateKey(env.ReceivedAt, env.DeliveryID)}
	rd := newRepoReader(p.gh)
	changed := 0
	for _, pr := range projects {
		did, err := p.applyAccess(ctx, rd, pr, stored, covered[pr.Repo], src, d.Log.With(slog.String("project_id", pr.ID)))
		if err != nil {
			return Result{}, fmt.Errorf("project %s: %w", pr.ID, err)
		}
		if did {
			changed++
		}
	}
	return processed(fmt.Sprintf("installation %d %s, %d repositories, %d of %d projects updated",
		id, stored.Status, len(stored.Repositories), changed, len(projects))), nil
}

// readInstallation reads the installation's state from GitHub. A deleted installation
// (404) and a suspended one (which cannot list its repositories) keep the repositories
// known before, plus those the event names.
func (p *Processor) readInstallation(ctx context.Context, id int64, ev *envelope.Installation, prev store.Installation) (store.Installation, error) {
	readAt := p.now()
	out := store.Installation{
		InstallationID: id, AccountLogin: prev.AccountLogin, AccountType: prev.AccountType, AccountID: prev.AccountID,
		RepositorySelection: prev.RepositorySelection, SyncedAtMs: readAt.UnixMilli(),
	}
	if ev != nil {
		out.AccountLogin = cmp.Or(ev.AccountLogin, out.AccountLogin)
		out.AccountType = cmp.Or(ev.AccountType, out.AccountType)
		if ev.AccountID != 0 {
			out.AccountID = ev.AccountID
		}
		out.RepositorySelection = cmp.Or(ev.RepositorySelection, out.RepositorySelection)
	}
	known := store.NormalizeRepos(slices.Concat(prev.Repositories, envRepos(ev)))

	gi, err := p.gh.Installation(ctx, id)
	switch {
	case errors.Is(err, ghapp.ErrNotFound):
		out.Status, out.Repositories = store.InstallationDeleted, known
		return out, nil
	case err != nil:
		return store.Installation{}, fmt.Errorf("read installation: %w", err)
	}
	out.AccountLogin = cmp.Or(gi.AccountLogin, out.AccountLogin)
	out.AccountType = cmp.Or(gi.AccountType, out.AccountType)
	if gi.AccountID != 0 {
		out.AccountID = gi.AccountID
	}
	out.RepositorySelection = cmp.Or(gi.RepositorySelection, out.RepositorySelection)
	if gi.SuspendedAt != nil {
		at := gi.SuspendedAt.UTC()
		out.Status, out.SuspendedAt, out.Repositories = store.InstallationSuspended, &at, known
		return out, nil
	}
	repos, err := p.gh.InstallationRepositories(ctx, id)
	if err != nil {
		// ErrNoAccess here means the installation was suspended or deleted since it was
		// read: the retry reads that state.
		return store.Installation{}, fmt.Errorf("read installation repositories: %w", err)
	}
	names := make([]string, 0, len(repos))
	for _, r := range repos {
		names = append(names, r.FullName)
	}
	out.Status, out.Repositories = store.InstallationActive, store.NormalizeRepos(names)
	return out, nil
}

// envRepos are the repositories an installation event names (granted, added, removed).
func envRepos(ev *envelope.Installation) []string {
	if ev == nil {
		return nil
	}
	return slices.Concat(ev.Repositories, ev.RepositoriesRemoved)
}

// projectsOf returns the projects on any of repos.
func (p *Processor) projectsOf(ctx context.Context, repos []string) ([]store.Project, error) {
	var (
		mu       sync.Mutex
		out      []store.Project
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, repoQueries)
	)
	for _, repo := range repos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ps, err := p.store.ProjectsByRepo(ctx, repo)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out = append(out, ps...)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	slices.SortFunc(out, func(a, b store.Project) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// applyAccess brings one project in line with its installation: access_lost or
// suspended when the installation lost it, a fresh read when it is covered again (or
// was never read). Projects of another installation are left alone unless this one
// covers their repository (the App was installed again). It reports a change.
func (p *Processor) applyAccess(ctx context.Context, rd *repoReader, pr store.Project, in store.Installation, covered bool, src source, log *slog.Logger) (bool, error) {
	own := pr.InstallationID == in.InstallationID
	var status, msg string
	switch {
	case in.Status == store.InstallationDeleted && own:
		status, msg = store.ProjectAccessLost, msgUninstalled
	case in.Status == store.InstallationSuspended && own:
		status, msg = store.ProjectSuspended, msgSuspended
	case in.Status == store.InstallationActive && !covered && own:
		status, msg = store.ProjectAccessLost, msgNotCovered
	case in.Status == store.InstallationActive && covered:
		return p.restore(ctx, rd, pr, in.InstallationID, src, log)
	default:
		return false, nil
	}
	stored, changed, err := p.store.MutateProject(ctx, pr.ID, func(sp *store.Project) (bool, error) {
		if sp.InstallationID != in.InstallationID {
			return false, nil // adopted by another installation meanwhile
		}
		return sp.SetStatus(status, msg), nil
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !changed && stored.Status != status {
		return false, nil
	}
	// Written also when unchanged: a retry after a crash between the two writes still
	// leaves the entry.
	return changed, p.appendUpdate(ctx, stored.ID, src, "", status+": "+msg)
}

// restore reads a project again when its installation covers it and it is not known
// to be readable (access_lost, suspended, or never read): back to pending, then synced.
// The status is decided on the project as stored (MutateProject's read), not on the
// index's partial copy, which holds no status.
func (p *Processor) restore(ctx context.Context, rd *repoReader, pr store.Project, inst int64, src source, log *slog.Logger) (bool, error) {
	var unread bool
	reset, changed, err := p.store.MutateProject(ctx, pr.ID, func(sp *store.Project) (bool, error) {
		changed := adoptInstallation(sp, inst)
		switch sp.Status {
		case store.ProjectAccessLost, store.ProjectSuspended:
			changed = sp.SetStatus(store.ProjectPending, "") || changed
			unread = true
		case store.ProjectPending:
			unread = true
		default:
			unread = false
		}
		return changed, nil
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil || !unread {
		return changed, err
	}
	if _, _, err := p.syncProject(ctx, rd, reset, src, log); err != nil && !isNotFound(err) {
		return false, err
	}
	return true, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
