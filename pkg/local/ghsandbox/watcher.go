// The watcher: changes of the files under the root become the webhooks GitHub would send.

package ghsandbox

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// repoState is what the watcher last saw of a repository.
type repoState struct {
	ref   repoRef
	sha   string
	files map[string]string // path → blob SHA
}

// snapshot reads every repository under the root.
func (s *Sandbox) snapshot() map[string]repoState {
	out := map[string]repoState{}
	for _, ref := range s.allRepos() {
		t, err := s.head(ref)
		if err != nil {
			continue // being written: the next event reads it again
		}
		st := repoState{ref: ref, sha: t.sha, files: map[string]string{}}
		for _, f := range t.files {
			st.files[f.path] = f.sha
		}
		out[strings.ToLower(ref.fullName())] = st
	}
	return out
}

// startWatcher watches the root (fsnotify, which is not recursive: every directory is
// added) and sends the webhooks of what changed once the files have settled.
func (s *Sandbox) startWatcher() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("ghsandbox: watch %s: %w", s.opts.Root, err)
	}
	s.addWatches(w)
	s.known = s.snapshot()
	s.watchDone = make(chan struct{})
	go func() {
		defer close(s.watchDone)
		defer w.Close()
		var timer <-chan time.Time
		var first time.Time
		for {
			select {
			case <-s.ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if strings.HasPrefix(filepath.Base(ev.Name), tmpPrefix) && !ev.Has(fsnotify.Rename) {
					continue // WriteFile's temporary file, renamed into place later
				}
				now := time.Now()
				if timer == nil {
					first = now
				}
				// Wait for the files to settle, but never more than a few debounce periods
				// after the first change while an editor keeps writing.
				wait := s.opts.Debounce
				if rest := first.Add(4 * s.opts.Debounce).Sub(now); rest < wait {
					wait = max(rest, 0)
				}
				timer = time.After(wait)
			case <-w.Errors:
				// An overflow loses events, not changes: the next scan reads the disk.
				timer = time.After(s.opts.Debounce)
			case <-timer:
				timer = nil
				s.addWatches(w)
				s.scan()
			}
		}
	}()
	return nil
}

// addWatches adds every directory under the root to w (adding one twice is harmless).
func (s *Sandbox) addWatches(w *fsnotify.Watcher) {
	_ = filepath.WalkDir(s.opts.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		_ = w.Add(p)
		return nil
	})
}

// scan compares the disk with what was last seen and sends, per repository, a push for
// changed files and installation_repositories for repositories added or removed.
func (s *Sandbox) scan() {
	now := s.snapshot()
	old := s.known
	s.known = now
	keys := make([]string, 0, len(now))
	for k := range now {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cur := now[k]
		prev, existed := old[k]
		if !existed {
			s.sendInstallationRepos("added", cur.ref)
			prev = repoState{sha: zeroSHA, files: map[string]string{}}
		}
		if cur.sha == "" || cur.sha == prev.sha {
			// No files (git has no empty commit to push) or nothing changed.
			continue
		}
		if prev.sha == "" {
			prev.sha = zeroSHA
		}
		c := pushChange{ref: cur.ref, before: prev.sha, after: cur.sha}
		for p, sha := range cur.files {
			switch old, ok := prev.files[p]; {
			case !ok:
				c.added = append(c.added, p)
			case old != sha:
				c.modified = append(c.modified, p)
			}
		}
		for p := range prev.files {
			if _, ok := cur.files[p]; !ok {
				c.removed = append(c.removed, p)
			}
		}
		sort.Strings(c.added)
		sort.Strings(c.modified)
		sort.Strings(c.removed)
		if t, err := s.head(cur.ref); err == nil {
			c.treeSHA, c.at = t.treeSHA, t.at
		}
		if c.at.IsZero() {
			c.at = s.now()
		}
		s.sendPush(c)
	}
	var gone []string
	for k := range old {
		if _, ok := now[k]; !ok {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	for _, k := range gone {
		s.sendInstallationRepos("removed", old[k].ref)
	}
}

func (s *Sandbox) sendPush(c pushChange) {
	in, ok := s.installationFor(c.ref.fullName())
	if !ok {
		return // no installation of the App sees the repository: GitHub sends nothing
	}
	body, err := s.pushPayload(c, in)
	if err != nil {
		return
	}
	s.send(outgoing{
		event: "push", summary: c.ref.fullName() + " " + c.paths(), body: body,
		installationID: in.ID, repositoryID: s.repoID(c.ref.fullName()),
	})
}

func (s *Sandbox) sendInstallationRepos(action string, ref repoRef) {
	in, ok := s.installationFor(ref.fullName())
	if !ok || !in.AllRepositories {
		// A "selected" installation changes only when its owner picks repositories.
		return
	}
	body, err := s.installationReposPayload(action, []repoRef{ref}, in)
	if err != nil {
		return
	}
	s.send(outgoing{
		event: "installation_repositories", action: action, summary: ref.fullName() + " " + action,
		body: body, installationID: in.ID,
	})
}
