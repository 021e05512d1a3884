package ghsandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Installation is an installation of the sandbox App.
type Installation struct {
	ID int64
	// Account is the login of the user or organisation the App is installed on.
	Account string
	// AccountType is "User" (default) or "Organization".
	AccountType string
	// AccountID defaults to a stable id derived from Account.
	AccountID int64
	// AllRepositories makes the installation cover every repository under the root
	// (repository_selection "all"); otherwise it covers Repos ("selected").
	AllRepositories bool
	// Repos are full names ("owner/repo") the installation covers.
	Repos []string
	// Users are the logins who can access the installation (GET /user/installations).
	Users []string
	// Suspended installations cannot mint tokens and their tokens stop working.
	Suspended bool

	createdAt time.Time
}

func (in *Installation) clone() Installation {
	c := *in
	c.Repos = append([]string(nil), in.Repos...)
	c.Users = append([]string(nil), in.Users...)
	return c
}

func (in Installation) covers(fullName string) bool {
	if in.AllRepositories {
		return true
	}
	for _, r := range in.Repos {
		if strings.EqualFold(r, fullName) {
			return true
		}
	}
	return false
}

func (in Installation) hasUser(login string) bool {
	for _, u := range in.Users {
		if strings.EqualFold(u, login) {
			return true
		}
	}
	return false
}

func (in Installation) selection() string {
	if in.AllRepositories {
		return "all"
	}
	return "selected"
}

// AddInstallation adds (or replaces) an installation of the App.
func (s *Sandbox) AddInstallation(in Installation) error {
	if in.ID <= 0 {
		return fmt.Errorf("ghsandbox: installation id %d must be positive", in.ID)
	}
	if in.Account == "" || !validName(in.Account) {
		return fmt.Errorf("ghsandbox: installation %d: invalid account %q", in.ID, in.Account)
	}
	if in.AccountType == "" {
		in.AccountType = "User"
	}
	if in.AccountType != "User" && in.AccountType != "Organization" {
		return fmt.Errorf("ghsandbox: installation %d: account type %q is neither User nor Organization", in.ID, in.AccountType)
	}
	if in.AccountID == 0 {
		in.AccountID = userID(in.Account)
	}
	for _, r := range in.Repos {
		o, n, ok := strings.Cut(r, "/")
		if !ok || !validName(o) || !validName(n) {
			return fmt.Errorf("ghsandbox: installation %d: repository %q is not owner/name", in.ID, r)
		}
	}
	c := in.clone()
	c.createdAt = s.now().UTC().Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installations[in.ID] = &c
	return nil
}

// RemoveInstallation deletes an installation, as uninstalling the App does: its tokens
// stop working and minting answers 404.
func (s *Sandbox) RemoveInstallation(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.installations, id)
	for k, t := range s.instTokens {
		if t.installationID == id {
			delete(s.instTokens, k)
		}
	}
}

// SetSuspended suspends or unsuspends an installation.
func (s *Sandbox) SetSuspended(id int64, suspended bool) error {
	return s.editInstallation(id, func(in *Installation) { in.Suspended = suspended })
}

// SetInstallationRepos changes which repositories a "selected" installation covers.
func (s *Sandbox) SetInstallationRepos(id int64, repos []string) error {
	return s.editInstallation(id, func(in *Installation) {
		in.AllRepositories = false
		in.Repos = append([]string(nil), repos...)
	})
}

// editInstallation changes installation id under the lock; an unknown id is an error.
func (s *Sandbox) editInstallation(id int64, edit func(*Installation)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installations[id]
	if !ok {
		return fmt.Errorf("ghsandbox: no installation %d", id)
	}
	edit(in)
	return nil
}

// Installations returns the App's installations sorted by id.
func (s *Sandbox) Installations() []Installation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedInstallations(func(Installation) bool { return true })
}

// sortedInstallations must be called with s.mu held.
func (s *Sandbox) sortedInstallations(keep func(Installation) bool) []Installation {
	var out []Installation
	for _, in := range s.installations {
		if keep(*in) {
			out = append(out, in.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var appPermissions = map[string]string{
	"contents": "read", "metadata": "read", "issues": "read", "pull_requests": "read",
}

// appCreated stands for the App's registration date, which the sandbox does not keep.
const appCreated = "2020-01-01T00:00:00Z"

var appEvents = []string{"push", "pull_request", "issues", "installation", "installation_repositories"}

func (s *Sandbox) installationJSON(base string, in Installation) map[string]any {
	account := s.accountJSON(base, in.Account)
	account["id"] = in.AccountID
	account["type"] = in.AccountType
	var suspended, suspendedBy any
	if in.Suspended {
		suspended = timeString(in.createdAt)
		suspendedBy = s.accountJSON(base, in.Account)
	}
	id := strconv.FormatInt(in.ID, 10)
	return map[string]any{
		"id":                   in.ID,
		"account":              account,
		"repository_selection": in.selection(),
		"access_tokens_url":    base + "/app/installations/" + id + "/access_tokens",
		"repositories_url":     base + "/installation/repositories",
		"html_url":             base + "/settings/installations/" + id,
		"app_id":               s.opts.AppID,
		"app_slug":             s.opts.AppSlug,
		"target_id":            in.AccountID,
		"target_type":          in.AccountType,
		"permissions":          appPermissions,
		"events":               appEvents,
		"created_at":           timeString(in.createdAt),
		"updated_at":           timeString(in.createdAt),
		"suspended_at":         suspended,
		"suspended_by":         suspendedBy,
		"single_file_name":     nil,
	}
}

// paginate slices n items by the per_page and page parameters (GitHub's defaults: 30
// per page, at most 100) and sets the Link header.
func paginate(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	last := max(1, (n+per-1)/per)
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, baseURL(r), r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, last), "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo = min((page-1)*per, n)
	return lo, min(lo+per, n)
}

func (s *Sandbox) handleApp(w http.ResponseWriter, r *http.Request) {
	if !s.requireApp(w, r) {
		return
	}
	base := baseURL(r)
	s.mu.Lock()
	count := len(s.installations)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                  s.opts.AppID,
		"slug":                s.opts.AppSlug,
		"node_id":             "A_sandbox" + strconv.FormatInt(s.opts.AppID, 10),
		"name":                s.opts.AppName,
		"owner":               s.accountJSON(base, s.opts.SandboxUser),
		"client_id":           s.opts.ClientID,
		"html_url":            base + "/apps/" + s.opts.AppSlug,
		"permissions":         appPermissions,
		"events":              appEvents,
		"installations_count": count,
		"description":         "",
		"external_url":        base,
		"created_at":          appCreated,
		"updated_at":          appCreated,
	})
}

func (s *Sandbox) handleAppInstallations(w http.ResponseWriter, r *http.Request) {
	if !s.requireApp(w, r) {
		return
	}
	list := s.Installations()
	lo, hi := paginate(w, r, len(list))
	out := []map[string]any{}
	for _, in := range list[lo:hi] {
		out = append(out, s.installationJSON(baseURL(r), in))
	}
	writeJSON(w, http.StatusOK, out)
}

// installationParam parses the {id} path value and finds the installation.
func (s *Sandbox) installationParam(r *http.Request) (Installation, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return Installation{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installations[id]
	if !ok {
		return Installation{}, false
	}
	return in.clone(), true
}

// appInstallation answers for the App's own routes on one installation: it checks the
// App's JWT and finds the {id} installation, writing GitHub's refusal (401, 404) when
// either fails.
func (s *Sandbox) appInstallation(w http.ResponseWriter, r *http.Request) (Installation, bool) {
	if !s.requireApp(w, r) {
		return Installation{}, false
	}
	in, ok := s.installationParam(r)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return in, ok
}

func (s *Sandbox) handleAppInstallation(w http.ResponseWriter, r *http.Request) {
	in, ok := s.appInstallation(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(baseURL(r), in))
}

// tokenRequest is the optional body of an access token request.
type tokenRequest struct {
	Repositories  []string          `json:"repositories"`
	RepositoryIDs []int64           `json:"repository_ids"`
	Permissions   map[string]string `json:"permissions"`
}

// GitHub's refusals of a token request it cannot grant (422).
const (
	msgReposNotAccessible = "There is at least one repository that does not exist or is not accessible to the parent installation."
	msgPermsNotGranted    = "The permissions requested are not granted to this installation."
)

// maxTokenRepos is the most repositories GitHub lets one token name.
const maxTokenRepos = 500

// grantable reports whether the installation's permissions cover level on perm:
// "write" covers "read".
func grantable(perm, level string) bool {
	has, ok := appPermissions[perm]
	switch {
	case !ok || (level != "read" && level != "write"):
		return false
	case level == "write":
		return has == "write"
	}
	return true
}

func (s *Sandbox) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	in, ok := s.appInstallation(w, r)
	if !ok {
		return
	}
	if in.Suspended {
		writeError(w, http.StatusForbidden, "This installation has been suspended")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	var req tokenRequest
	if b := strings.TrimSpace(string(body)); b != "" && b != "null" {
		if err := json.Unmarshal(body, &req); err != nil {
			// JSON of the wrong shape fails GitHub's schema check (422); what is not JSON
			// at all cannot be parsed (400).
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\nFor 'properties/%s', %s is not %s.", typeErr.Field, typeErr.Value, typeErr.Type))
				return
			}
			writeError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
	}
	if len(req.Repositories)+len(req.RepositoryIDs) > maxTokenRepos {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Too many repositories: at most %d may be requested.", maxTokenRepos))
		return
	}
	tok := instToken{installationID: in.ID, expires: s.now().Add(s.opts.TokenTTL).UTC().Truncate(time.Second)}
	// A token may be narrowed to some of the installation's repositories (by name, by id
	// or both) and permissions, never widened: GitHub refuses the whole request.
	var restricted []map[string]any
	if req.Repositories != nil || req.RepositoryIDs != nil {
		tok.repos = []string{}
		seen := map[string]bool{}
		add := func(ref repoRef) {
			if !seen[strings.ToLower(ref.fullName())] {
				seen[strings.ToLower(ref.fullName())] = true
				tok.repos = append(tok.repos, ref.fullName())
				restricted = append(restricted, s.repoJSON(baseURL(r), ref))
			}
		}
		for _, name := range req.Repositories {
			ref, ok := s.lookupRepo(in.Account, name)
			if !ok || !in.covers(ref.fullName()) {
				writeError(w, http.StatusUnprocessableEntity, msgReposNotAccessible)
				return
			}
			add(ref)
		}
		covered := s.coveredRepos(in, nil)
		for _, id := range req.RepositoryIDs {
			i := slices.IndexFunc(covered, func(ref repoRef) bool { return s.repoID(ref.fullName()) == id })
			if i < 0 {
				writeError(w, http.StatusUnprocessableEntity, msgReposNotAccessible)
				return
			}
			add(covered[i])
		}
	}
	perms := appPermissions
	if req.Permissions != nil {
		// metadata:read comes with every token, asked for or not.
		perms = map[string]string{"metadata": "read"}
		for p, level := range req.Permissions {
			if !grantable(p, level) {
				writeError(w, http.StatusUnprocessableEntity, msgPermsNotGranted)
				return
			}
			if p != "metadata" || level == "write" {
				perms[p] = level
			}
		}
		tok.perms = perms
	}
	// Long opaque tokens exercise the "tokens of any length" rule.
	raw := "ghs_" + randomHex(48)
	s.mu.Lock()
	s.instTokens[raw] = tok
	s.minted[in.ID]++
	s.mu.Unlock()
	resp := map[string]any{
		"token":                raw,
		"expires_at":           timeString(tok.expires),
		"permissions":          perms,
		"repository_selection": in.selection(),
	}
	if restricted != nil {
		resp["repositories"] = restricted
		resp["repository_selection"] = "selected"
	}
	writeJSON(w, http.StatusCreated, resp)
}

// coveredRepos lists the repositories under the root an installation (and token) covers.
func (s *Sandbox) coveredRepos(in Installation, t *instToken) []repoRef {
	var out []repoRef
	for _, ref := range s.allRepos() {
		if in.covers(ref.fullName()) && (t == nil || t.allows(ref.fullName())) {
			out = append(out, ref)
		}
	}
	return out
}

func (s *Sandbox) writeRepoPage(w http.ResponseWriter, r *http.Request, in Installation, repos []repoRef) {
	lo, hi := paginate(w, r, len(repos))
	out := []map[string]any{}
	for _, ref := range repos[lo:hi] {
		out = append(out, s.repoJSON(baseURL(r), ref))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"total_count":          len(repos),
		"repository_selection": in.selection(),
		"repositories":         out,
	})
}

func (s *Sandbox) handleInstallationRepos(w http.ResponseWriter, r *http.Request) {
	t, in, ok := s.installationAuth(w, r)
	if !ok {
		return
	}
	s.writeRepoPage(w, r, in, s.coveredRepos(in, &t))
}
