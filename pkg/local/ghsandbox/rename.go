package ghsandbox

// This file: renaming a repository as GitHub does — the id stays, the old name answers
// 301 Moved Permanently to /repositories/{id}/..., which serves the repository by id.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RenameRepo renames owner/name to owner/newName: its folder moves, its id stays, the
// installations that list it list the new name, and API requests to the old name answer
// 301 with GitHub's body until a repository of that name exists again. The renames are
// kept in memory: a restarted sandbox serves the folder under its new name with an id
// derived from it.
func (s *Sandbox) RenameRepo(owner, name, newName string) error {
	s.fsMu.Lock()
	defer s.fsMu.Unlock()
	ref, ok := s.lookupRepo(owner, name)
	if !ok {
		return fmt.Errorf("ghsandbox: repository %s/%s not found", owner, name)
	}
	if !validName(newName) {
		return fmt.Errorf("ghsandbox: invalid repository name %q", newName)
	}
	if _, exists := s.lookupRepo(ref.Owner, newName); exists {
		return fmt.Errorf("ghsandbox: repository %s/%s exists", ref.Owner, newName)
	}
	id := s.repoID(ref.fullName())
	if err := os.Rename(ref.dir, filepath.Join(filepath.Dir(ref.dir), newName)); err != nil {
		return fmt.Errorf("ghsandbox: rename %s: %w", ref.fullName(), err)
	}
	oldFull, newFull := ref.fullName(), ref.Owner+"/"+newName
	oldKey, newKey := strings.ToLower(oldFull), strings.ToLower(newFull)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.renamed == nil {
		s.renamed, s.repoIDs = map[string]string{}, map[string]int64{}
	}
	for old, to := range s.renamed {
		if strings.EqualFold(to, oldFull) {
			s.renamed[old] = newFull // an earlier name follows to the newest
		}
	}
	s.renamed[oldKey] = newFull
	delete(s.renamed, newKey)
	delete(s.repoIDs, oldKey)
	s.repoIDs[newKey] = id
	if p, ok := s.pins[oldKey]; ok {
		delete(s.pins, oldKey)
		s.pins[newKey] = p
	}
	for _, in := range s.installations {
		for i, r := range in.Repos {
			if strings.EqualFold(r, oldFull) {
				in.Repos[i] = newFull
			}
		}
	}
	return nil
}

// RepositoryID returns the id the API gives owner/repo (a webhook payload names its
// repository by it).
func (s *Sandbox) RepositoryID(owner, repo string) (int64, error) {
	ref, ok := s.lookupRepo(owner, repo)
	if !ok {
		return 0, fmt.Errorf("ghsandbox: repository %s/%s not found", owner, repo)
	}
	return s.repoID(ref.fullName()), nil
}

// repoID is a repository's id: kept through renames, else derived from its name (and
// never one a renamed repository keeps).
func (s *Sandbox) repoID(fullName string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.repoIDs[strings.ToLower(fullName)]; ok {
		return id
	}
	id := stableID("repo", fullName)
	for _, kept := range s.repoIDs {
		if kept == id {
			// A new repository under a renamed one's old name is another repository.
			return stableID("repo-after-rename", fullName)
		}
	}
	return id
}

// redirectRenamed answers a request to a renamed repository's old name as GitHub does
// (301 to the same path under /repositories/{id}) and reports whether it did; it does
// not when the name was never renamed or the caller cannot see the repository.
func (s *Sandbox) redirectRenamed(w http.ResponseWriter, r *http.Request, in Installation, t instToken) bool {
	old := r.PathValue("owner") + "/" + r.PathValue("repo")
	s.mu.Lock()
	to, ok := s.renamed[strings.ToLower(old)]
	s.mu.Unlock()
	if !ok {
		return false
	}
	owner, name, _ := strings.Cut(to, "/")
	ref, ok := s.lookupRepo(owner, name)
	if !ok || !in.covers(ref.fullName()) || !t.allows(ref.fullName()) {
		return false
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/repos/"+r.PathValue("owner")+"/"+r.PathValue("repo"))
	if len(rest) == len(r.URL.EscapedPath()) {
		rest = "" // the path spelt the name otherwise (escaped): the repository itself
	}
	u := baseURL(r) + "/repositories/" + strconv.FormatInt(s.repoID(ref.fullName()), 10) + rest
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", u)
	writeJSON(w, http.StatusMovedPermanently, map[string]string{
		"message":           "Moved Permanently",
		"url":               u,
		"documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects",
	})
	return true
}

// handleRepositoryByID serves /repositories/{id}[/...] as the same path under
// /repos/{owner}/{repo} of the repository with that id.
func (s *Sandbox) handleRepositoryByID(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	for _, ref := range s.allRepos() {
		if s.repoID(ref.fullName()) != id {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/repos/" + ref.fullName()
		r2.URL.RawPath = ""
		if rest := r.PathValue("rest"); rest != "" {
			r2.URL.Path += "/" + rest
		}
		s.mux.ServeHTTP(w, r2)
		return
	}
	// Authenticate first, as every repository route does: 401 beats 404.
	if _, _, ok := s.installationAuth(w, r); ok {
		writeError(w, http.StatusNotFound, "Not Found")
	}
}
