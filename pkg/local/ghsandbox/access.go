package ghsandbox

// This file: who may read which repository (users' permissions), and the endpoints that
// tell the App about it: a user's permission on a repository and the installation that
// covers a repository.

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Repository permission levels, as GitHub reports them (its legacy base roles).
const (
	PermAdmin = "admin"
	PermWrite = "write"
	PermRead  = "read"
	PermNone  = "none"
)

// loginPattern is GitHub's rule for logins: alphanumerics and single hyphens, neither
// first nor last, at most 39 characters.
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

func validLogin(s string) bool { return len(s) <= 39 && loginPattern.MatchString(s) }

// SetPermission sets login's permission on repo ("owner/name"): PermAdmin, PermWrite,
// PermRead or PermNone; "" drops the setting, so the default applies again. By default
// the repository's owner account has admin, a user of an installation covering the
// repository read, anyone else none (an organisation member the organisation gave no
// access to, a collaborator who was removed).
func (s *Sandbox) SetPermission(repo, login, perm string) error {
	o, n, ok := strings.Cut(repo, "/")
	if !ok || !validName(o) || !validName(n) || !validName(login) {
		return fmt.Errorf("ghsandbox: SetPermission(%q, %q): want owner/name and a login", repo, login)
	}
	switch perm {
	case "", PermAdmin, PermWrite, PermRead, PermNone:
	default:
		return fmt.Errorf("ghsandbox: SetPermission: unknown permission %q", perm)
	}
	key, user := strings.ToLower(repo), strings.ToLower(login)
	s.mu.Lock()
	defer s.mu.Unlock()
	if perm == "" {
		delete(s.perms[key], user)
		return nil
	}
	if s.perms[key] == nil {
		s.perms[key] = map[string]string{}
	}
	s.perms[key][user] = perm
	return nil
}

// SetInstallationUsers changes who can access an installation (GET /user/installations),
// as adding or removing a member or collaborator on GitHub does.
func (s *Sandbox) SetInstallationUsers(id int64, users []string) error {
	return s.editInstallation(id, func(in *Installation) { in.Users = append([]string(nil), users...) })
}

// DeleteUser makes login no GitHub user any more (the account was deleted, or renamed
// away from that login): asking for its permission answers 404 "<login> is not a user".
func (s *Sandbox) DeleteUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deletedUsers[strings.ToLower(login)] = true
}

// permission is login's permission on the repository fullName. Called with s.mu held.
func (s *Sandbox) permission(fullName, login string) string {
	if p, ok := s.perms[strings.ToLower(fullName)][strings.ToLower(login)]; ok {
		return p
	}
	owner, _, _ := strings.Cut(fullName, "/")
	if strings.EqualFold(owner, login) {
		return PermAdmin
	}
	for _, in := range s.installations {
		if in.covers(fullName) && in.hasUser(login) {
			return PermRead
		}
	}
	return PermNone
}

// Permission is login's permission on repo ("owner/name") as the sandbox answers it.
func (s *Sandbox) Permission(repo, login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.permission(repo, login)
}

// handlePermission serves GET /repos/{owner}/{repo}/collaborators/{username}/permission
// for an installation token: 404 for a repository the installation cannot see and for a
// login that is no user, else 200 with the permission (none included).
func (s *Sandbox) handlePermission(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.repoAuth(w, r)
	if !ok {
		return
	}
	login := r.PathValue("username")
	s.mu.Lock()
	deleted := s.deletedUsers[strings.ToLower(login)]
	perm := s.permission(ref.fullName(), login)
	s.mu.Unlock()
	if deleted || !validLogin(login) {
		writeError(w, http.StatusNotFound, login+" is not a user")
		return
	}
	// role_name names the role; for the base roles it is the permission itself.
	user := s.accountJSON(baseURL(r), login)
	user["type"] = "User"
	user["site_admin"] = false
	user["permissions"] = map[string]bool{
		"admin": perm == PermAdmin, "maintain": perm == PermAdmin, "push": perm == PermAdmin || perm == PermWrite,
		"triage": perm != PermNone, "pull": perm != PermNone,
	}
	user["role_name"] = perm
	writeJSON(w, http.StatusOK, map[string]any{"permission": perm, "role_name": perm, "user": user})
}

// handleRepoInstallation serves GET /repos/{owner}/{repo}/installation for the App JWT:
// the installation that covers the repository (the one on the repository's owner
// account first), or 404.
func (s *Sandbox) handleRepoInstallation(w http.ResponseWriter, r *http.Request) {
	if !s.requireApp(w, r) {
		return
	}
	ref, ok := s.lookupRepo(r.PathValue("owner"), r.PathValue("repo"))
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.mu.Lock()
	list := s.sortedInstallations(func(in Installation) bool { return in.covers(ref.fullName()) })
	s.mu.Unlock()
	if len(list) == 0 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	found := list[0]
	for _, in := range list {
		if strings.EqualFold(in.Account, ref.Owner) {
			found = in
			break
		}
	}
	writeJSON(w, http.StatusOK, s.installationJSON(baseURL(r), found))
}

// userRepos are the repositories of an installation login may read (GET
// /user/installations/{id}/repositories lists only those).
func (s *Sandbox) userRepos(in Installation, login string) []repoRef {
	covered := s.coveredRepos(in, nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []repoRef
	for _, ref := range covered {
		if s.permission(ref.fullName(), login) != PermNone {
			out = append(out, ref)
		}
	}
	return out
}
