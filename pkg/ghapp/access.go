package ghapp

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/google/go-github/v60/github"
)

// Permission levels GitHub reports for a user on a repository (its legacy base roles:
// maintain is reported as write, triage as read).
const (
	PermissionAdmin = "admin"
	PermissionWrite = "write"
	PermissionRead  = "read"
	PermissionNone  = "none"
)

// UserPermission is a user's permission on a repository, as GitHub reports it now.
type UserPermission struct {
	// Permission is admin, write, read or none.
	Permission string
	// Login and UserID are the user GitHub answered about: a login can change hands
	// after a rename, the id never does.
	Login  string
	UserID int64
}

// CanRead reports whether the permission includes reading the repository.
func (p UserPermission) CanRead() bool {
	switch p.Permission {
	case PermissionAdmin, PermissionWrite, PermissionRead:
		return true
	}
	return false
}

// RepositoryPermission asks GitHub, as the installation, for login's permission on
// owner/repo: GET /repos/{owner}/{repo}/collaborators/{username}/permission, which needs
// only the metadata permission every App has. It counts every source of access
// (collaborator, team, organization base role). A login that is no GitHub user (deleted,
// or renamed away) is ErrNotFound, as is a repository the installation cannot see;
// a malformed login is ErrNotFound without a call.
func (c *Client) RepositoryPermission(ctx context.Context, installationID int64, owner, repo, login string) (UserPermission, error) {
	full := owner + "/" + repo
	if !ownerPattern().MatchString(login) {
		err := fmt.Errorf("permission of %q on %s: %w: not a GitHub login", login, full, ErrNotFound)
		c.audit(ctx, "repository_permission_checked", installationID, full, err)
		return UserPermission{}, err
	}
	var lvl *github.RepositoryPermissionLevel
	err := c.instCall(ctx, installationID, opPermission, func(ctx context.Context, gh *github.Client) error {
		var err error
		lvl, _, err = gh.Repositories.GetPermissionLevel(ctx, url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(login))
		return err
	})
	if err != nil {
		err = fmt.Errorf("permission of %s on %s (installation %d): %w", login, full, installationID, err)
		c.audit(ctx, "repository_permission_checked", installationID, full, err, slog.String("github_login", login))
		return UserPermission{}, err
	}
	p := UserPermission{Permission: lvl.GetPermission(), Login: lvl.GetUser().GetLogin(), UserID: lvl.GetUser().GetID()}
	if p.Permission == "" {
		p.Permission = PermissionNone
	}
	c.audit(ctx, "repository_permission_checked", installationID, full, nil,
		slog.String("github_login", login), slog.String("permission", p.Permission))
	return p, nil
}

// RepositoryInstallation asks GitHub which installation of the App covers owner/repo
// now (App JWT): GET /repos/{owner}/{repo}/installation. ErrNotFound when none does (or
// the repository does not exist).
func (c *Client) RepositoryInstallation(ctx context.Context, owner, repo string) (Installation, error) {
	full := owner + "/" + repo
	var in *github.Installation
	err := c.retry(ctx, opRepoInstallation, readPolicy, func(ctx context.Context) error {
		var err error
		in, _, err = c.app.Apps.FindRepositoryInstallation(ctx, url.PathEscape(owner), url.PathEscape(repo))
		return err
	})
	if err != nil {
		err = fmt.Errorf("installation of %s: %w", full, err)
		c.audit(ctx, "repository_installation_found", 0, full, err)
		return Installation{}, err
	}
	out := installationOf(in)
	c.audit(ctx, "repository_installation_found", out.ID, full, nil)
	return out, nil
}
