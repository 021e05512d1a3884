package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CommitKey is a snapshot's sort key: "<TimeKey(commitAt)>#<sha>", so that snapshots
// sort in commit order and the same commit always maps to the same item.
func CommitKey(commitAt time.Time, sha string) string {
	return TimeKey(commitAt) + "#" + strings.ToLower(sha)
}

// PutSnapshot writes a snapshot under its deterministic key (CommitKey is filled in
// from CommitAt and CommitSHA), so that a retry rewrites the same item.
func (s *Store) PutSnapshot(ctx context.Context, snap Snapshot) (Snapshot, error) {
	if snap.ProjectID == "" || snap.CommitSHA == "" || snap.CommitAt.IsZero() {
		return Snapshot{}, errors.New("put snapshot: project id, commit sha and commit time are required")
	}
	snap.CommitAt = snap.CommitAt.UTC()
	snap.CommitKey = CommitKey(snap.CommitAt, snap.CommitSHA)
	snap.Fit()
	if err := s.db.Table(s.tables.Snapshots).Put(snap).Run(ctx); err != nil {
		return Snapshot{}, fmt.Errorf("put snapshot %s/%s: %w", snap.ProjectID, snap.CommitKey, err)
	}
	return snap, nil
}

// Budgets that keep a snapshot — stored as its own item and again as the project's
// latest_snapshot — well inside DynamoDB's 400 KB item limit, leaving the project item
// room for its pull requests and issue tasks. They are in DynamoDB's item size measure
// (attribute names plus values), estimated from above. Manifests and ManifestSHAs need
// no budget of their own: the processor reads at most 50 manifests, with paths of at
// most 256 bytes and 40-byte SHAs, about 15 KB each at the most.
const (
	// MaxSectionBytes bounds Sections: about 250 to 1,000 sections, depending on titles.
	MaxSectionBytes = 32 << 10
	// MaxDependencyBytes bounds Deps: about 600 to 1,500 dependencies.
	MaxDependencyBytes = 96 << 10
	// MaxDependencyNameBytes and MaxDependencyVersionBytes are what a dependency's name
	// and version are cut to.
	MaxDependencyNameBytes    = 256
	MaxDependencyVersionBytes = 128
)

// Fit cuts Sections and Deps, keeping their order, to MaxSectionBytes and
// MaxDependencyBytes, and long dependency names and versions to their limits. When it
// cuts anything it sets Truncated, and SectionsTotal and DepsTotal to the counts before
// the cut. Fit is idempotent; PutSnapshot and ApplySnapshot call it.
func (s *Snapshot) Fit() {
	if n := fitCount(s.Sections, MaxSectionBytes, sectionSize); n < len(s.Sections) {
		s.SectionsTotal = len(s.Sections)
		s.Sections = s.Sections[:n:n]
		s.Truncated = true
	}
	cloned := false
	for i, d := range s.Deps {
		if len(d.Name) > MaxDependencyNameBytes || len(d.Version) > MaxDependencyVersionBytes {
			if !cloned {
				s.Deps, cloned = slices.Clone(s.Deps), true // never write into the caller's array
			}
			s.Deps[i].Name = cutBytes(d.Name, MaxDependencyNameBytes)
			s.Deps[i].Version = cutBytes(d.Version, MaxDependencyVersionBytes)
			s.Truncated = true
		}
	}
	if n := fitCount(s.Deps, MaxDependencyBytes, dependencySize); n < len(s.Deps) {
		s.DepsTotal = len(s.Deps)
		s.Deps = s.Deps[:n:n]
		s.Truncated = true
	}
	if s.ManifestsSkipped > 0 {
		s.Truncated = true
	}
}

// fitCount is how many leading elements fit in budget bytes.
func fitCount[T any](xs []T, budget int, size func(T) int) int {
	used := 0
	for i, x := range xs {
		if used += size(x); used > budget {
			return i
		}
	}
	return len(xs)
}

// DynamoDB counts a map as 3 bytes plus 1 per element, each element its name's and
// value's length; a number takes at most 21 bytes.
const maxNumberBytes = 21

func sectionSize(s Section) int {
	return 3 + 5 + len("title") + len(s.Title) + len("level") + len("tasks_total") + len("tasks_done") +
		len("progress") + 4*maxNumberBytes
}

func dependencySize(d Dependency) int {
	return 3 + 4 + len("name") + len(d.Name) + len("version") + len(d.Version) + len("ecosystem") +
		len(d.Ecosystem) + len("manifest") + len(d.Manifest)
}

// cutBytes cuts s to at most n bytes on a character boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}
