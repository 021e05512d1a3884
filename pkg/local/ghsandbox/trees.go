package ghsandbox

import (
	"net/http"
	"path"
	"sort"
	"strings"
)

// Git modes of tree entries, as the sandbox derives them from disk: a file, an
// executable file (any execute bit), a symlink, a folder holding its own .git (a
// submodule) and a directory.
const (
	modeBlob       = "100644"
	modeExecutable = "100755"
	modeSymlink    = "120000"
	modeSubmodule  = "160000"
	modeTree       = "040000"
)

// treeEntry is one entry of a git trees answer, path relative to the listed tree.
type treeEntry struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
	Type string `json:"type"`
	SHA  string `json:"sha"`
	Size *int64 `json:"size,omitempty"`
	URL  string `json:"url,omitempty"` // none for a submodule
}

// dirs lists every directory holding a file, sorted.
func (t tree) dirs() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range t.files {
		for d := path.Dir(f.path); d != "." && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// resolveTree finds the tree ref names and its SHA: the head commit (named as the
// commits API accepts it: branch, SHA or SHA prefix) or the root tree SHA name the root
// (dir ""); a subtree SHA names its directory.
func (t tree) resolveTree(ref string) (dir, sha string, ok bool) {
	ref = strings.ToLower(ref)
	if ref == "" {
		return "", "", false
	}
	if ref == t.treeSHA || t.matches(ref) {
		return "", t.treeSHA, true
	}
	if len(ref) != 40 {
		return "", "", false
	}
	for _, d := range t.dirs() {
		if hashEntries(t.files, d) == ref {
			return d, ref, true
		}
	}
	return "", "", false
}

// treeEntries lists the entries under dir ("" for the root), paths relative to dir: its
// direct children, or every file and directory below it when recursive, in git's order
// (a directory sorts as its name plus "/", and a recursive listing is depth first).
func treeEntries(base string, ref repoRef, t tree, dir string, recursive bool) []treeEntry {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	gitURL := base + "/repos/" + ref.fullName() + "/git/"
	var out []treeEntry
	seen := map[string]bool{}
	addTree := func(rel string) {
		if seen[rel] {
			return
		}
		seen[rel] = true
		sha := hashEntries(t.files, prefix+rel)
		out = append(out, treeEntry{Path: rel, Mode: modeTree, Type: "tree", SHA: sha, URL: gitURL + "trees/" + sha})
	}
	for _, f := range t.files {
		if !strings.HasPrefix(f.path, prefix) {
			continue
		}
		rel := f.path[len(prefix):]
		if !recursive {
			if name, _, isDir := strings.Cut(rel, "/"); isDir {
				addTree(name)
				continue
			}
		} else {
			for i, c := range rel {
				if c == '/' {
					addTree(rel[:i])
				}
			}
		}
		if f.isSubmodule() {
			// GitHub lists a submodule as a commit of another repository: no size, no URL.
			out = append(out, treeEntry{Path: rel, Mode: f.mode, Type: "commit", SHA: f.sha})
			continue
		}
		size := f.size
		out = append(out, treeEntry{Path: rel, Mode: f.mode, Type: "blob", SHA: f.sha, Size: &size, URL: gitURL + "blobs/" + f.sha})
	}
	key := func(e treeEntry) string {
		if e.Type == "tree" {
			return e.Path + "/"
		}
		return e.Path
	}
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func (s *Sandbox) handleTree(w http.ResponseWriter, r *http.Request) {
	ref, t, ok := s.commitTree(w, r, http.StatusConflict, "Git Repository is empty.")
	if !ok {
		return
	}
	dir, sha, ok := t.resolveTree(r.PathValue("sha"))
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	base := baseURL(r)
	// GitHub treats any value of recursive, even 0 or false, as a request to recurse.
	_, recursive := r.URL.Query()["recursive"]
	entries := treeEntries(base, ref, t, dir, recursive)
	truncated := len(entries) > s.opts.MaxTreeEntries
	if truncated {
		entries = entries[:s.opts.MaxTreeEntries]
	}
	if entries == nil {
		entries = []treeEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha":       sha,
		"url":       base + "/repos/" + ref.fullName() + "/git/trees/" + sha,
		"tree":      entries,
		"truncated": truncated,
	})
}
