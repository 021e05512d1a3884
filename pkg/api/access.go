package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/store"
)

// maxLinkProbes bounds the other repositories of an installation asked about before a
// link is removed (see linkConfirmed).
const maxLinkProbes = 10

var (
	errNoInstallation = httpapi.Fail(http.StatusForbidden,
		"none of your GitHub App installations can access this repository", nil)
	errUserCannotRead = httpapi.Fail(http.StatusForbidden,
		"your GitHub account cannot read this repository", nil)
)

// linked is one of the caller's links with the installation as stored.
type linked struct {
	link store.UserInstallation
	inst store.Installation
}

// accessibleInstallation finds the installation through which user may register
// owner/name, asking GitHub at every registration: the installation must read the
// repository, and the GitHub user who linked it must be able to read it now. The
// candidates are the caller's active installations whose stored repository lists hold
// the repository; when none does (the lists lag behind GitHub until the
// installation_repositories event is processed), GitHub says which installation covers
// the repository now, and when it is one of the caller's the stored list learns it.
func (a *API) accessibleInstallation(ctx context.Context, user, owner, name string) (int64, ghapp.Repository, error) {
	full := strings.ToLower(owner + "/" + name)
	links, err := a.store.UserInstallations(ctx, user)
	if err != nil {
		return 0, ghapp.Repository{}, err
	}
	mine := map[int64]linked{}
	var candidates []int64
	for _, l := range links {
		in, err := a.store.GetInstallation(ctx, l.InstallationID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, ghapp.Repository{}, err
		}
		if in.Status != store.InstallationActive {
			continue
		}
		mine[in.InstallationID] = linked{link: l, inst: in}
		if slices.Contains(in.Repositories, full) {
			candidates = append(candidates, in.InstallationID)
		}
	}
	if len(mine) == 0 {
		a.audit(ctx, "repository_access_refused", user, "refused", slog.String("repo", full), slog.String("reason", "no installation linked"))
		return 0, ghapp.Repository{}, errNoInstallation
	}
	learned := false
	if len(candidates) == 0 {
		in, err := a.gh.RepositoryInstallation(ctx, owner, name)
		switch {
		case errors.Is(err, ghapp.ErrNotFound):
		case err != nil:
			return 0, ghapp.Repository{}, githubFailure("repository installation", err)
		default:
			if _, ok := mine[in.ID]; ok {
				candidates, learned = []int64{in.ID}, true
			}
		}
	}
	var lastErr error
	userRefused := false
	for _, id := range candidates {
		repo, err := a.gh.ValidateRepositoryAccess(ctx, full, id)
		if errors.Is(err, ghapp.ErrInvalidRepo) {
			return 0, ghapp.Repository{}, httpapi.Fail(http.StatusBadRequest, "repo must be owner/name or a GitHub repository URL", err)
		}
		if errors.Is(err, ghapp.ErrNoAccess) || errors.Is(err, ghapp.ErrNotFound) {
			continue
		}
		if err != nil {
			lastErr = err
			continue
		}
		ok, err := a.userCanRead(ctx, user, mine[id], repo)
		if err != nil {
			lastErr = err
			continue
		}
		if !ok {
			userRefused = true
			continue
		}
		if learned {
			// Only a hint for the next registration: GitHub is asked every time anyway.
			if err := a.store.AddInstallationRepository(ctx, id, full); err != nil {
				a.log.WarnContext(ctx, "stored repository list not updated", slog.Int64("installation_id", id), slog.String("err", err.Error()))
			}
		}
		a.audit(ctx, "repository_access_validated", user, "ok", slog.String("repo", full), slog.Int64("installation_id", id),
			slog.Bool("learned_from_github", learned))
		return id, repo, nil
	}
	if lastErr != nil {
		return 0, ghapp.Repository{}, githubFailure("validate repository access", lastErr)
	}
	a.audit(ctx, "repository_access_refused", user, "refused", slog.String("repo", full), slog.Int("installations_checked", len(candidates)),
		slog.Bool("user_cannot_read", userRefused))
	if userRefused {
		return 0, ghapp.Repository{}, errUserCannotRead
	}
	return 0, ghapp.Repository{}, errNoInstallation
}

// userCanRead asks GitHub, as the installation, whether the GitHub user of the link can
// read the repository now. When GitHub no longer confirms the link — the login is gone
// or belongs to another account, or the user can read none of the installation's
// repositories any more — the link is removed.
func (a *API) userCanRead(ctx context.Context, user string, l linked, repo ghapp.Repository) (bool, error) {
	id := l.link.InstallationID
	login := l.link.GitHubLogin
	if login == "" {
		// Nothing to ask GitHub about: the link predates recording the login.
		a.unlink(ctx, user, id, "link has no GitHub login")
		return false, nil
	}
	p, err := a.gh.RepositoryPermission(ctx, id, repo.Owner, repo.Name, login)
	if errors.Is(err, ghapp.ErrNotFound) {
		a.unlink(ctx, user, id, "GitHub login no longer exists")
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if l.link.GitHubUserID != 0 && p.UserID != l.link.GitHubUserID {
		a.unlink(ctx, user, id, "GitHub login now belongs to another account")
		return false, nil
	}
	if p.CanRead() {
		return true, nil
	}
	if !a.linkConfirmed(ctx, l, repo.FullName) {
		a.unlink(ctx, user, id, "GitHub user can no longer read the installation's repositories")
	}
	return false, nil
}

// linkConfirmed reports whether the link's GitHub user can still read some repository
// of the installation other than except (an organization member may read one
// repository and not another). It asks about at most maxLinkProbes repositories of the
// stored list; when the list is longer, or GitHub fails, the link is kept: it is removed
// only when GitHub says so.
func (a *API) linkConfirmed(ctx context.Context, l linked, except string) bool {
	var others []string
	for _, r := range l.inst.Repositories {
		if !strings.EqualFold(r, except) {
			others = append(others, r)
		}
	}
	if len(others) > maxLinkProbes {
		return true
	}
	for _, r := range others {
		owner, name, ok := strings.Cut(r, "/")
		if !ok {
			continue
		}
		p, err := a.gh.RepositoryPermission(ctx, l.link.InstallationID, owner, name, l.link.GitHubLogin)
		if errors.Is(err, ghapp.ErrNotFound) {
			continue // the installation no longer covers that one
		}
		if err != nil || p.CanRead() {
			return true
		}
	}
	return false
}

// unlink removes a link GitHub no longer confirms; a failure is logged, the caller is
// refused either way.
func (a *API) unlink(ctx context.Context, user string, installationID int64, reason string) {
	if err := a.store.UnlinkUserInstallation(ctx, user, installationID); err != nil {
		a.log.WarnContext(ctx, "installation link not removed", slog.Int64("installation_id", installationID), slog.String("err", err.Error()))
		return
	}
	a.audit(ctx, "installation_unlinked", user, "ok", slog.Int64("installation_id", installationID), slog.String("reason", reason))
}
