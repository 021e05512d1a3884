package ghsandbox

// This file: the REST endpoints over the repositories (repository, contents, blobs, commits, branches).

import (
	"encoding/base64"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// repoTree authorizes a repository request and reads the repository's head tree; it
// answers the request itself (401, 404 or 500) and reports false when it cannot.
func (s *Sandbox) repoTree(w http.ResponseWriter, r *http.Request) (repoRef, tree, bool) {
	tok, ref, ok := s.repoTokenAuth(w, r)
	if !ok {
		return repoRef{}, tree{}, false
	}
	// Files, trees, commits and branches need the contents permission; a token narrowed
	// to metadata only is refused as GitHub refuses it.
	if !tok.can("contents", "read") {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return repoRef{}, tree{}, false
	}
	t, err := s.head(ref)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Server Error")
		return repoRef{}, tree{}, false
	}
	return ref, t, true
}

// commitTree is repoTree for the routes that read the head commit, which an empty
// repository does not have: it answers those with emptyStatus and emptyMsg, as GitHub
// does for each route (409 on the Git database routes, 404 on contents).
func (s *Sandbox) commitTree(w http.ResponseWriter, r *http.Request, emptyStatus int, emptyMsg string) (repoRef, tree, bool) {
	ref, t, ok := s.repoTree(w, r)
	if ok && t.sha == "" {
		writeError(w, emptyStatus, emptyMsg)
		return repoRef{}, tree{}, false
	}
	return ref, t, ok
}

// repoAuth checks the installation token and that it covers the path's repository;
// GitHub answers 404 for a repository the installation cannot see.
func (s *Sandbox) repoAuth(w http.ResponseWriter, r *http.Request) (repoRef, bool) {
	_, ref, ok := s.repoTokenAuth(w, r)
	return ref, ok
}

// repoTokenAuth is repoAuth that also returns the token.
func (s *Sandbox) repoTokenAuth(w http.ResponseWriter, r *http.Request) (instToken, repoRef, bool) {
	t, in, ok := s.installationAuth(w, r)
	if !ok {
		return instToken{}, repoRef{}, false
	}
	ref, ok := s.lookupRepo(r.PathValue("owner"), r.PathValue("repo"))
	if !ok && s.redirectRenamed(w, r, in, t) {
		return instToken{}, repoRef{}, false
	}
	if !ok || !in.covers(ref.fullName()) || !t.allows(ref.fullName()) {
		writeError(w, http.StatusNotFound, "Not Found")
		return instToken{}, repoRef{}, false
	}
	return t, ref, true
}

func (t instToken) allows(fullName string) bool {
	if t.repos == nil {
		return true
	}
	for _, r := range t.repos {
		if strings.EqualFold(r, fullName) {
			return true
		}
	}
	return false
}

func (s *Sandbox) accountType(login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.installations {
		if strings.EqualFold(in.Account, login) && in.AccountType != "" {
			return in.AccountType
		}
	}
	return "User"
}

// accountJSON is a user or organization as GitHub's simple-user shape has it.
func (s *Sandbox) accountJSON(base, login string) map[string]any {
	id := userID(login)
	api := base + "/users/" + login
	return map[string]any{
		"login":               login,
		"id":                  id,
		"node_id":             "U_sandbox" + strconv.FormatInt(id, 10),
		"type":                s.accountType(login),
		"site_admin":          false,
		"avatar_url":          base + "/avatars/u/" + strconv.FormatInt(id, 10),
		"gravatar_id":         "",
		"html_url":            base + "/" + login,
		"url":                 api,
		"followers_url":       api + "/followers",
		"following_url":       api + "/following{/other_user}",
		"gists_url":           api + "/gists{/gist_id}",
		"starred_url":         api + "/starred{/owner}{/repo}",
		"subscriptions_url":   api + "/subscriptions",
		"organizations_url":   api + "/orgs",
		"repos_url":           api + "/repos",
		"events_url":          api + "/events{/privacy}",
		"received_events_url": api + "/received_events",
		"user_view_type":      "public",
	}
}

// repoURLTemplates are the hypermedia links of a repository answer, relative to its API
// URL, as GitHub sends them (GitHub's repository schema requires every one).
var repoURLTemplates = map[string]string{
	"archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
	"blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
	"collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
	"commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
	"contents_url": "/contents/{+path}", "contributors_url": "/contributors",
	"deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
	"forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
	"git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
	"issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}",
	"labels_url": "/labels{/name}", "languages_url": "/languages", "merges_url": "/merges",
	"milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
	"pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "stargazers_url": "/stargazers",
	"statuses_url": "/statuses/{sha}", "subscribers_url": "/subscribers", "subscription_url": "/subscription",
	"tags_url": "/tags", "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
}

// repoJSON is a repository in GitHub's full-repository shape (a superset of the
// repository shape lists and tokens use).
func (s *Sandbox) repoJSON(base string, ref repoRef) map[string]any {
	full := ref.fullName()
	id := s.repoID(full)
	api := base + "/repos/" + full
	host := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	// The sandbox keeps no creation date: the epoch of its ids stands in.
	created := "2020-01-01T00:00:00Z"
	out := map[string]any{
		"id":                id,
		"node_id":           "R_sandbox" + strconv.FormatInt(id, 10),
		"name":              ref.Name,
		"full_name":         full,
		"owner":             s.accountJSON(base, ref.Owner),
		"private":           true,
		"visibility":        "private",
		"fork":              false,
		"archived":          false,
		"disabled":          false,
		"is_template":       false,
		"description":       nil,
		"homepage":          nil,
		"language":          nil,
		"license":           nil,
		"mirror_url":        nil,
		"default_branch":    DefaultBranch,
		"html_url":          base + "/" + full,
		"url":               api,
		"clone_url":         base + "/" + full + ".git",
		"git_url":           "git://" + host + "/" + full + ".git",
		"ssh_url":           "git@" + host + ":" + full + ".git",
		"svn_url":           base + "/" + full,
		"forks":             0,
		"forks_count":       0,
		"open_issues":       0,
		"open_issues_count": 0,
		"stargazers_count":  0,
		"watchers":          0,
		"watchers_count":    0,
		"network_count":     0,
		"subscribers_count": 0,
		"size":              0,
		"has_issues":        true,
		"has_projects":      true,
		"has_wiki":          true,
		"has_pages":         false,
		"has_downloads":     true,
		"has_discussions":   false,
		"topics":            []string{},
		"created_at":        created,
		"updated_at":        created,
		"pushed_at":         created,
	}
	for k, v := range repoURLTemplates {
		out[k] = api + v
	}
	return out
}

func (s *Sandbox) handleRepo(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.repoAuth(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.repoJSON(baseURL(r), ref))
}

// wantsRaw reports whether the request asks for the raw media type.
func wantsRaw(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/vnd.github.raw") ||
		strings.Contains(r.Header.Get("Accept"), "application/vnd.github.v3.raw")
}

// encodeContent is base64 in lines of 60 characters, as GitHub sends it.
func encodeContent(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60])
		b.WriteByte('\n')
		enc = enc[60:]
	}
	b.WriteString(enc)
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	return b.String()
}

func entryJSON(base string, ref repoRef, typ, p, sha string, size int64) map[string]any {
	full := ref.fullName()
	self := base + "/repos/" + full + "/contents/" + p + "?ref=" + DefaultBranch
	html := base + "/" + full + "/blob/" + DefaultBranch + "/" + p
	git := base + "/repos/" + full + "/git/blobs/" + sha
	if typ == "dir" {
		html = base + "/" + full + "/tree/" + DefaultBranch + "/" + p
		git = base + "/repos/" + full + "/git/trees/" + sha
	}
	return map[string]any{
		"type":         typ,
		"name":         path.Base(p),
		"path":         p,
		"sha":          sha,
		"size":         size,
		"url":          self,
		"html_url":     html,
		"git_url":      git,
		"download_url": nil,
		"_links":       map[string]string{"self": self, "git": git, "html": html},
	}
}

// maxRawContent is the largest file the contents API returns with the raw media type
// (100 MB); larger files are only in the git data API.
const maxRawContent = 100 << 20

// Media types the contents API answers differently.
const (
	mediaJSON   = "json"
	mediaRaw    = "raw"
	mediaObject = "object"
)

// contentsMedia is the media type a contents request asks for.
func contentsMedia(r *http.Request) string {
	switch a := r.Header.Get("Accept"); {
	case wantsRaw(r):
		return mediaRaw
	case strings.Contains(a, "application/vnd.github.object"), strings.Contains(a, "application/vnd.github.v3.object"):
		return mediaObject
	}
	return mediaJSON
}

// writeTooLarge is GitHub's answer to a contents request for a file larger than the
// media type returns.
func writeTooLarge(w http.ResponseWriter) {
	writeJSON(w, http.StatusForbidden, map[string]any{
		"message": "This API returns blobs up to 1 MB in size. The requested blob is too large to fetch via the API, " +
			"but you can use the Git Data API to request blobs up to 100 MB in size.",
		"errors":            []map[string]string{{"resource": "Blob", "field": "data", "code": "too_large"}},
		"documentation_url": docsURL,
		"status":            "403",
	})
}

// findFile returns the tree entry at rel, if there is one.
func findFile(files []fileEntry, rel string) (fileEntry, bool) {
	i := sort.Search(len(files), func(i int) bool { return files[i].path >= rel })
	if i < len(files) && files[i].path == rel {
		return files[i], true
	}
	return fileEntry{}, false
}

// symlinkTarget is the file a symlink points at when GitHub follows it: a relative
// target, resolved from the link's folder, naming a regular file of the repository
// (not a directory, another symlink or a path outside the repository).
func symlinkTarget(files []fileEntry, link fileEntry) (fileEntry, bool) {
	if strings.HasPrefix(link.target, "/") {
		return fileEntry{}, false
	}
	p := path.Join(path.Dir(link.path), link.target)
	if p == ".." || strings.HasPrefix(p, "../") {
		return fileEntry{}, false
	}
	f, ok := findFile(files, p)
	if !ok || f.isSymlink() || f.isSubmodule() {
		return fileEntry{}, false
	}
	return f, true
}

func (s *Sandbox) handleContents(w http.ResponseWriter, r *http.Request) {
	ref, t, ok := s.commitTree(w, r, http.StatusNotFound, "This repository is empty.")
	if !ok {
		return
	}
	if want := r.URL.Query().Get("ref"); !t.matches(want) {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+want)
		return
	}
	rel, ok := cleanRepoPath(r.PathValue("path"))
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	base := baseURL(r)
	media := contentsMedia(r)
	if f, ok := findFile(t.files, rel); ok {
		if f.isSymlink() {
			target, ok := symlinkTarget(t.files, f)
			if !ok {
				s.writeSymlink(w, base, ref, f, media)
				return
			}
			// GitHub answers for a symlink to a file of the repository with that file.
			f = target
		}
		if f.isSubmodule() {
			obj := entryJSON(base, ref, "submodule", f.path, f.sha, 0)
			obj["submodule_git_url"] = base + "/" + ref.fullName() + "-" + path.Base(f.path) + ".git"
			writeJSON(w, http.StatusOK, obj)
			return
		}
		data, err := readInRoot(ref.dir, f.path)
		if err != nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		switch {
		case media == mediaRaw && len(data) > maxRawContent, media == mediaJSON && len(data) > maxInlineContent:
			writeTooLarge(w)
			return
		case media == mediaRaw:
			w.Header().Set("Content-Type", "application/vnd.github.raw")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(data)
			return
		}
		obj := entryJSON(base, ref, "file", f.path, blobSHA(data), int64(len(data)))
		if len(data) > maxInlineContent {
			// The object media type: files of 1–100 MB come without their content.
			obj["content"], obj["encoding"] = "", "none"
		} else {
			obj["content"], obj["encoding"] = encodeContent(data), "base64"
		}
		writeJSON(w, http.StatusOK, obj)
		return
	}
	list := dirListing(base, ref, t.files, rel)
	if list == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if media == mediaObject {
		obj := entryJSON(base, ref, "dir", rel, hashEntries(t.files, rel), 0)
		obj["entries"] = list
		writeJSON(w, http.StatusOK, obj)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// writeSymlink answers for a symlink GitHub does not follow: an object naming its
// target, or the target path as the raw content.
func (s *Sandbox) writeSymlink(w http.ResponseWriter, base string, ref repoRef, f fileEntry, media string) {
	if media == mediaRaw {
		w.Header().Set("Content-Type", "application/vnd.github.raw")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(f.target))
		return
	}
	obj := entryJSON(base, ref, "symlink", f.path, f.sha, f.size)
	obj["target"] = f.target
	writeJSON(w, http.StatusOK, obj)
}

// dirListing lists the entries directly under dir ("" for the root), or nil when no file
// lies under it. As on GitHub, a submodule is listed with type "file".
func dirListing(base string, ref repoRef, files []fileEntry, dir string) []map[string]any {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	var out []map[string]any
	seen := map[string]bool{}
	for _, f := range files {
		if !strings.HasPrefix(f.path, prefix) {
			continue
		}
		name, _, isDir := strings.Cut(f.path[len(prefix):], "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		switch {
		case isDir:
			out = append(out, entryJSON(base, ref, "dir", prefix+name, hashEntries(files, prefix+name), 0))
		case f.isSymlink():
			out = append(out, entryJSON(base, ref, "symlink", f.path, f.sha, f.size))
		default:
			out = append(out, entryJSON(base, ref, "file", f.path, f.sha, f.size))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	return out
}

// readInRoot reads rel inside dir without following anything out of it.
func readInRoot(dir, rel string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.ReadFile(filepath.FromSlash(rel))
}

func (s *Sandbox) handleBlob(w http.ResponseWriter, r *http.Request) {
	ref, t, ok := s.repoTree(w, r)
	if !ok {
		return
	}
	sha := strings.ToLower(r.PathValue("sha"))
	for _, f := range t.files {
		if f.sha != sha || f.isSubmodule() {
			continue
		}
		// A symlink's blob is its target path.
		data, err := []byte(f.target), error(nil)
		if !f.isSymlink() {
			data, err = readInRoot(ref.dir, f.path)
		}
		if err != nil || blobSHA(data) != sha {
			break
		}
		if wantsRaw(r) {
			w.Header().Set("Content-Type", "application/vnd.github.raw")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(data)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"sha":      sha,
			"node_id":  "B_sandbox" + sha[:12],
			"size":     len(data),
			"url":      baseURL(r) + "/repos/" + ref.fullName() + "/git/blobs/" + sha,
			"content":  encodeContent(data),
			"encoding": "base64",
		})
		return
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func commitJSON(base string, ref repoRef, t tree) map[string]any {
	sig := map[string]any{"name": "Sandbox", "email": "sandbox@example.invalid", "date": timeString(t.at)}
	full := ref.fullName()
	api := base + "/repos/" + full
	return map[string]any{
		"sha":          t.sha,
		"node_id":      "C_sandbox" + t.sha[:12],
		"url":          api + "/commits/" + t.sha,
		"html_url":     base + "/" + full + "/commit/" + t.sha,
		"comments_url": api + "/commits/" + t.sha + "/comments",
		"commit": map[string]any{
			"url":           api + "/git/commits/" + t.sha,
			"author":        sig,
			"committer":     sig,
			"message":       "Sandbox tree " + t.treeSHA[:7],
			"tree":          map[string]string{"sha": t.treeSHA, "url": api + "/git/trees/" + t.treeSHA},
			"comment_count": 0,
		},
		"author":    nil,
		"committer": nil,
		"parents":   []any{},
		"files":     []any{},
	}
}

func (s *Sandbox) handleCommit(w http.ResponseWriter, r *http.Request) {
	ref, t, ok := s.commitTree(w, r, http.StatusConflict, "Git Repository is empty.")
	if !ok {
		return
	}
	want := r.PathValue("ref")
	if want == "" || !t.matches(want) {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+want)
		return
	}
	writeJSON(w, http.StatusOK, commitJSON(baseURL(r), ref, t))
}

func (s *Sandbox) handleBranch(w http.ResponseWriter, r *http.Request) {
	ref, t, ok := s.repoTree(w, r)
	if !ok {
		return
	}
	if t.sha == "" || r.PathValue("branch") != DefaultBranch {
		writeError(w, http.StatusNotFound, "Branch not found")
		return
	}
	base := baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"name":           DefaultBranch,
		"commit":         commitJSON(base, ref, t),
		"protected":      false,
		"protection":     map[string]any{"enabled": false, "required_status_checks": map[string]any{"enforcement_level": "off", "contexts": []string{}, "checks": []any{}}},
		"protection_url": base + "/repos/" + ref.fullName() + "/branches/" + DefaultBranch + "/protection",
		"_links": map[string]string{
			"self": base + "/repos/" + ref.fullName() + "/branches/" + DefaultBranch,
			"html": base + "/" + ref.fullName() + "/tree/" + DefaultBranch,
		},
	})
}
