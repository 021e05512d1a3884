// Repositories on disk: the layout under the sandbox root, head commits and the writes the local stack makes.

package ghsandbox

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// maxInlineContent is the largest file the contents API returns inline; larger files
// come back with encoding "none" and empty content, as on GitHub.
const maxInlineContent = 1 << 20

// tmpPrefix marks WriteFile's temporary files, which no listing shows.
const tmpPrefix = ".ghsandbox-tmp-"

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

func validName(s string) bool {
	return namePattern.MatchString(s) && s != "." && s != ".." && !strings.HasPrefix(s, tmpPrefix)
}

// repoRef is a repository found on disk, named as its directories are.
type repoRef struct {
	Owner, Name string
	dir         string
}

func (r repoRef) fullName() string { return r.Owner + "/" + r.Name }

// fileEntry is one non-directory entry of a tree: a file (mode 100644 or 100755), a
// symlink (120000; its blob is the target path) or a submodule (160000, a commit).
type fileEntry struct {
	path   string
	mode   string
	sha    string
	size   int64
	target string // a symlink's target as written on disk
}

func (f fileEntry) isSymlink() bool   { return f.mode == modeSymlink }
func (f fileEntry) isSubmodule() bool { return f.mode == modeSubmodule }

// tree is a repository's branch main as read from disk.
type tree struct {
	files   []fileEntry // sorted by path
	treeSHA string
	sha     string // head commit SHA; "" for an empty repository
	at      time.Time
}

type pin struct {
	sha string
	at  time.Time
}

// findEntry returns the name of the directory entry of dir equal to name ignoring case,
// preferring an exact match: GitHub owner and repository names are case-insensitive.
func findEntry(dir, name string) (string, bool) {
	if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.IsDir() {
		return name, true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if e.IsDir() && strings.EqualFold(e.Name(), name) {
			return e.Name(), true
		}
	}
	return "", false
}

// lookupRepo finds owner/name under the root.
func (s *Sandbox) lookupRepo(owner, name string) (repoRef, bool) {
	if !validName(owner) || !validName(name) {
		return repoRef{}, false
	}
	o, ok := findEntry(s.opts.Root, owner)
	if !ok {
		return repoRef{}, false
	}
	n, ok := findEntry(filepath.Join(s.opts.Root, o), name)
	if !ok {
		return repoRef{}, false
	}
	return repoRef{Owner: o, Name: n, dir: filepath.Join(s.opts.Root, o, n)}, true
}

// allRepos lists every repository under the root, sorted by full name.
func (s *Sandbox) allRepos() []repoRef {
	var out []repoRef
	owners, _ := os.ReadDir(s.opts.Root)
	for _, o := range owners {
		if !o.IsDir() || !validName(o.Name()) {
			continue
		}
		repos, _ := os.ReadDir(filepath.Join(s.opts.Root, o.Name()))
		for _, r := range repos {
			if r.IsDir() && validName(r.Name()) {
				out = append(out, repoRef{Owner: o.Name(), Name: r.Name(), dir: filepath.Join(s.opts.Root, o.Name(), r.Name())})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.ToLower(out[i].fullName()) < strings.ToLower(out[j].fullName())
	})
	return out
}

// cleanRepoPath validates a path inside a repository; "" is the root directory.
func cleanRepoPath(p string) (string, bool) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", true
	}
	for i, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, tmpPrefix) || (i == 0 && seg == ".git") {
			return "", false
		}
	}
	return p, true
}

func blobSHA(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// readDisk reads a repository's files, their blob SHAs, the tree hash and the newest
// modification time of its files and directories (directories count so that a removal
// moves the head too).
func readDisk(dir string) (tree, error) {
	var t tree
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		submodule := false
		switch {
		case d.IsDir() && rel == ".git":
			return filepath.SkipDir
		case d.IsDir() && rel != ".":
			// A folder holding its own .git (file or directory) is a nested repository:
			// git records it as a submodule, one commit entry.
			_, err := os.Lstat(filepath.Join(p, ".git"))
			submodule = err == nil
		case d.IsDir():
		case strings.HasPrefix(d.Name(), tmpPrefix):
			return nil
		case !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0:
			return nil // devices, sockets, pipes: nothing git stores
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		// A symlink's own time cannot be set portably (os.Chtimes follows it); creating
		// or replacing one changes its folder's time, which counts.
		if mt := fi.ModTime().UTC().Truncate(time.Second); mt.After(t.at) && d.Type()&fs.ModeSymlink == 0 {
			t.at = mt
		}
		switch {
		case submodule:
			h := sha1.Sum([]byte("submodule\n" + rel))
			t.files = append(t.files, fileEntry{path: rel, mode: modeSubmodule, sha: hex.EncodeToString(h[:])})
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			target = filepath.ToSlash(target)
			t.files = append(t.files, fileEntry{path: rel, mode: modeSymlink, sha: blobSHA([]byte(target)), size: int64(len(target)), target: target})
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := modeBlob
		if fi.Mode()&0o111 != 0 {
			mode = modeExecutable
		}
		t.files = append(t.files, fileEntry{path: rel, mode: mode, sha: blobSHA(data), size: int64(len(data))})
		return nil
	})
	if err != nil {
		return tree{}, fmt.Errorf("read repository %s: %w", dir, err)
	}
	sort.Slice(t.files, func(i, j int) bool { return t.files[i].path < t.files[j].path })
	if len(t.files) > 0 {
		t.treeSHA = hashEntries(t.files, "")
		h := sha1.Sum([]byte("commit\n" + t.treeSHA))
		t.sha = hex.EncodeToString(h[:])
	}
	return t, nil
}

// hashEntries hashes the files under prefix ("" for all) into a tree SHA.
func hashEntries(files []fileEntry, prefix string) string {
	h := sha1.New()
	for _, f := range files {
		if prefix == "" || strings.HasPrefix(f.path, prefix+"/") {
			fmt.Fprintf(h, "%s %s\x00%s\n", f.mode, f.path, f.sha)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// head reads the repository and applies a pinned head, if any.
func (s *Sandbox) head(ref repoRef) (tree, error) {
	t, err := readDisk(ref.dir)
	if err != nil {
		return tree{}, err
	}
	s.mu.Lock()
	p, ok := s.pins[strings.ToLower(ref.fullName())]
	s.mu.Unlock()
	if ok && t.sha != "" {
		t.sha, t.at = p.sha, p.at
	}
	return t, nil
}

// matches reports whether ref names the head of branch main.
func (t tree) matches(ref string) bool {
	switch ref {
	case "", DefaultBranch, "heads/" + DefaultBranch, "refs/heads/" + DefaultBranch:
		return true
	}
	return t.sha != "" && len(ref) >= 7 && strings.HasPrefix(t.sha, strings.ToLower(ref))
}

// Head returns the head commit of branch main of owner/repo as the API shows it.
func (s *Sandbox) Head(owner, repo string) (sha string, at time.Time, err error) {
	ref, ok := s.lookupRepo(owner, repo)
	if !ok {
		return "", time.Time{}, fmt.Errorf("ghsandbox: repository %s/%s not found", owner, repo)
	}
	t, err := s.head(ref)
	if err != nil {
		return "", time.Time{}, err
	}
	if t.sha == "" {
		return "", time.Time{}, fmt.Errorf("ghsandbox: repository %s/%s is empty", owner, repo)
	}
	return t.sha, t.at, nil
}

// repoDirFor returns the directory of owner/repo, existing or to be created.
func (s *Sandbox) repoDirFor(owner, repo string) (string, error) {
	if !validName(owner) || !validName(repo) {
		return "", fmt.Errorf("ghsandbox: invalid repository name %q/%q", owner, repo)
	}
	if ref, ok := s.lookupRepo(owner, repo); ok {
		return ref.dir, nil
	}
	if o, ok := findEntry(s.opts.Root, owner); ok {
		owner = o
	}
	return filepath.Join(s.opts.Root, owner, repo), nil
}

// nextHeadTime is a head date strictly after prev and not before now, so each write is a
// newer commit even within one second.
func (s *Sandbox) nextHeadTime(prev time.Time) time.Time {
	t := s.now().UTC().Truncate(time.Second)
	if !t.After(prev) {
		t = prev.Add(time.Second)
	}
	return t
}

// touchChain sets the modification time of dir/rel's directories, from rel's parent up
// to dir itself, to t.
func touchChain(dir, rel string, t time.Time) error {
	for p := path.Dir(rel); ; p = path.Dir(p) {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(p)), t, t); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
	}
}

// WriteFile writes a file of branch main of owner/repo, creating the repository when
// needed. The head moves: its SHA follows the content and its date becomes the current
// time, or one second after the previous head when that is not later. A pinned head is
// released.
func (s *Sandbox) WriteFile(owner, repo, p string, data []byte) error {
	rel, ok := cleanRepoPath(p)
	if !ok || rel == "" {
		return fmt.Errorf("ghsandbox: invalid path %q", p)
	}
	return s.replaceEntry(owner, repo, rel, "write", true, func(folder string) (string, error) {
		tmp, err := os.CreateTemp(folder, tmpPrefix+"*")
		if err != nil {
			return "", err
		}
		_, werr := tmp.Write(data)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr); err != nil {
			_ = os.Remove(tmp.Name())
			return "", err
		}
		return tmp.Name(), nil
	})
}

// Symlink makes p in branch main of owner/repo a symlink to target (a path relative to
// p's folder, as git stores it), replacing what was there; the head moves as for
// WriteFile. Whether the target exists or lies inside the repository is not checked:
// the API answers for it as GitHub does.
func (s *Sandbox) Symlink(owner, repo, p, target string) error {
	rel, ok := cleanRepoPath(p)
	if !ok || rel == "" || target == "" {
		return fmt.Errorf("ghsandbox: invalid symlink %q -> %q", p, target)
	}
	// A symlink's own time cannot be set portably: its folders carry the new head time.
	return s.replaceEntry(owner, repo, rel, "symlink", false, func(folder string) (string, error) {
		tmp := filepath.Join(folder, tmpPrefix+randomHex(8))
		return tmp, os.Symlink(filepath.FromSlash(target), tmp)
	})
}

// replaceEntry puts the entry that create makes (in the target's folder, under a
// temporary name) at rel in branch main of owner/repo, creating the repository when
// needed, and moves the head as WriteFile says; stamp sets the entry's own time too.
func (s *Sandbox) replaceEntry(owner, repo, rel, op string, stamp bool, create func(folder string) (string, error)) error {
	fail := func(err error) error { return fmt.Errorf("ghsandbox: %s %s: %w", op, rel, err) }
	s.fsMu.Lock()
	defer s.fsMu.Unlock()
	dir, err := s.repoDirFor(owner, repo)
	if err != nil {
		return err
	}
	var prev time.Time
	if old, err := readDisk(dir); err == nil {
		prev = old.at
	}
	full := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fail(err)
	}
	tmp, err := create(filepath.Dir(full))
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, full); err != nil {
		_ = os.Remove(tmp)
		return fail(err)
	}
	t := s.nextHeadTime(prev)
	if stamp {
		if err := os.Chtimes(full, t, t); err != nil {
			return fail(err)
		}
	}
	if err := touchChain(dir, rel, t); err != nil {
		return fail(err)
	}
	s.unpin(dir)
	return nil
}

// RemoveFile deletes a file of branch main of owner/repo (and directories it leaves
// empty). The head moves as for WriteFile.
func (s *Sandbox) RemoveFile(owner, repo, p string) error {
	rel, ok := cleanRepoPath(p)
	if !ok || rel == "" {
		return fmt.Errorf("ghsandbox: invalid path %q", p)
	}
	s.fsMu.Lock()
	defer s.fsMu.Unlock()
	ref, ok := s.lookupRepo(owner, repo)
	if !ok {
		return fmt.Errorf("ghsandbox: repository %s/%s not found", owner, repo)
	}
	old, err := readDisk(ref.dir)
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(ref.dir, filepath.FromSlash(rel))); err != nil {
		return fmt.Errorf("ghsandbox: remove %s: %w", p, err)
	}
	// Git has no empty directories: drop the ones the removal emptied.
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if os.Remove(filepath.Join(ref.dir, filepath.FromSlash(d))) != nil {
			rel = d + "/x" // d is not empty: touch from d upwards
			break
		}
		rel = d
	}
	if err := touchChain(ref.dir, rel, s.nextHeadTime(old.at)); err != nil {
		return fmt.Errorf("ghsandbox: remove %s: %w", p, err)
	}
	s.unpin(ref.dir)
	return nil
}

func (s *Sandbox) unpin(dir string) {
	rel, err := filepath.Rel(s.opts.Root, dir)
	if err != nil {
		return
	}
	s.mu.Lock()
	delete(s.pins, strings.ToLower(filepath.ToSlash(rel)))
	s.mu.Unlock()
}

// SetCommit pins the head of branch main of owner/repo to sha and time at, whatever the
// files say, until the next WriteFile or RemoveFile; an empty sha releases the pin. The
// contents API keeps serving the files on disk, also for ref=sha.
func (s *Sandbox) SetCommit(owner, repo, sha string, at time.Time) error {
	ref, ok := s.lookupRepo(owner, repo)
	if !ok {
		return fmt.Errorf("ghsandbox: repository %s/%s not found", owner, repo)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(ref.fullName())
	if sha == "" {
		delete(s.pins, key)
		return nil
	}
	s.pins[key] = pin{sha: strings.ToLower(sha), at: at.UTC().Truncate(time.Second)}
	return nil
}
