package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CommitKey is a snapshot's sort key: "<TimeKey(commitAt)>#<sha>", so that snapshots
// sort in commit order and the same commit always maps to the same item.
func CommitKey(commitAt time.Time, sha string) string {
	return TimeKey(commitAt) + "#" + strings.ToLower(sha)
}

// CompareCommits orders two commits by time, then by SHA, so that two commits of the
// same second still have one deterministic order. It returns -1, 0 or +1.
func CompareCommits(aAt time.Time, aSHA string, bAt time.Time, bSHA string) int {
	return strings.Compare(CommitKey(aAt, aSHA), CommitKey(bAt, bSHA))
}

// PutSnapshot writes a snapshot under its deterministic key (CommitKey is filled in
// from CommitAt and CommitSHA), so that a retry rewrites the same item.
func (s *Store) PutSnapshot(ctx context.Context, snap Snapshot) (Snapshot, error) {
	if snap.ProjectID == "" || snap.CommitSHA == "" || snap.CommitAt.IsZero() {
		return Snapshot{}, errors.New("put snapshot: project id, commit sha and commit time are required")
	}
	snap.CommitAt = snap.CommitAt.UTC()
	snap.CommitKey = CommitKey(snap.CommitAt, snap.CommitSHA)
	if err := s.db.Table(s.tables.Snapshots).Put(snap).Run(ctx); err != nil {
		return Snapshot{}, fmt.Errorf("put snapshot %s/%s: %w", snap.ProjectID, snap.CommitKey, err)
	}
	return snap, nil
}
