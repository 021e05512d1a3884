package store

// The API's side of the projects table: registering, reading, listing and deleting
// projects, and reading a project's snapshots and update log page by page. The
// processor's side (status, snapshots, pull requests, issues) is projects.go.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

// Page sizes of the list methods.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// guardTakeoverAfter is how old a guard whose project does not exist must be before a
// new registration may take it over: younger, the project may still be being written.
const guardTakeoverAfter = 30 * time.Second

// guardPrefix starts the id of a guard item (see projectGuard).
const guardPrefix = "guard#"

var (
	// ErrBadCursor: a page cursor that this store did not hand out.
	ErrBadCursor = errors.New("invalid cursor")
	// ErrProjectExists: the owner already tracks the repository (see ProjectExistsError).
	ErrProjectExists = errors.New("project already exists")
)

// ProjectExistsError names the project that already tracks the repository for the owner.
type ProjectExistsError struct{ ID string }

func (e *ProjectExistsError) Error() string { return "project already exists: " + e.ID }

// Is makes errors.Is(err, ErrProjectExists) true.
func (e *ProjectExistsError) Is(target error) bool { return target == ErrProjectExists }

// projectGuard makes "one project per owner and repository" hold without transactions
// (dynalite has none): an item of the projects table keyed by a hash of owner and
// repository, claimed with a conditional write before the project is written. It has
// neither owner nor repo attributes, so it stays out of the by_owner and by_repo indexes.
type projectGuard struct {
	ID        string    `dynamo:"id,hash"`
	ProjectID string    `dynamo:"project_id"`
	GuardedAt time.Time `dynamo:"guarded_at"`
}

func guardID(owner, repo string) string {
	sum := sha256.Sum256([]byte(owner + "\x00" + strings.ToLower(repo)))
	return guardPrefix + hex.EncodeToString(sum[:])
}

// repoIDGuardID is the guard of owner and a repository id, which a rename keeps ("#"
// never starts a repository name, so it cannot meet a name guard).
func repoIDGuardID(owner string, repoID int64) string {
	return guardID(owner, "#"+strconv.FormatInt(repoID, 10))
}

// CreateProject stores a new project. ID, Owner, Repo, RepoID (deliveries find the
// project by it: ProjectsOfRepo) and InstallationID are required;
// Repo is stored lower case, CreatedAt and LastUpdated default to now and Status to
// pending. When the owner already has a project for the repository it returns a
// *ProjectExistsError (errors.Is ErrProjectExists) and stores nothing.
func (s *Store) CreateProject(ctx context.Context, p Project) (Project, error) {
	if p.ID == "" || p.Owner == "" || p.Repo == "" || p.RepoID == 0 || p.InstallationID == 0 {
		return Project{}, errors.New("create project: id, owner, repo, repository id and installation are required")
	}
	if reservedID(p.ID) {
		return Project{}, fmt.Errorf("create project: id %q is reserved", p.ID)
	}
	now := s.now().UTC()
	p.Repo = strings.ToLower(p.Repo)
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	p.CreatedAt = p.CreatedAt.UTC()
	if p.LastUpdated.IsZero() {
		p.LastUpdated = p.CreatedAt
	}
	if p.Status == "" {
		p.Status = ProjectPending
	}
	// One guard per name and one per repository id: a project keeps its repository
	// through a rename, so registering the new name finds it.
	repo, repoID := p.Repo, p.RepoID
	gid := guardID(p.Owner, p.Repo)
	if err := s.claimGuard(ctx, gid, p.ID, now, func(held Project) bool { return held.Repo == repo }); err != nil {
		return Project{}, fmt.Errorf("create project for %s: %w", p.Repo, err)
	}
	idGuard := repoIDGuardID(p.Owner, p.RepoID)
	if err := s.claimGuard(ctx, idGuard, p.ID, now, func(held Project) bool { return held.RepoID == repoID }); err != nil {
		s.releaseGuard(ctx, gid, p.ID)
		return Project{}, fmt.Errorf("create project for %s: %w", p.Repo, err)
	}
	// Listed before it is written: the directory may list a project that does not
	// exist, never miss one that does (directory.go).
	err := s.addToDirectory(ctx, p)
	if err == nil {
		err = s.db.Table(s.tables.Projects).Put(p).If("attribute_not_exists($)", "id").Run(ctx)
		if err != nil {
			s.removeFromDirectory(ctx, p.RepoID, p.ID)
		}
	}
	if err != nil {
		s.releaseGuard(ctx, gid, p.ID)
		s.releaseGuard(ctx, idGuard, p.ID)
		return Project{}, fmt.Errorf("create project %s: %w", p.ID, err)
	}
	return p, nil
}

// claimGuard makes the guard gid point at projectID, unless it points at a project that
// exists and still holds it (holds: it tracks the guarded repository; a rename moves a
// project off its old name) or may be being created.
func (s *Store) claimGuard(ctx context.Context, gid, projectID string, now time.Time, holds func(Project) bool) error {
	table := s.db.Table(s.tables.Projects)
	for range 3 {
		g := projectGuard{ID: gid, ProjectID: projectID, GuardedAt: now}
		err := table.Put(g).If("attribute_not_exists($)", "id").Run(ctx)
		if err == nil {
			return nil
		}
		if !dynamo.IsCondCheckFailed(err) {
			return fmt.Errorf("claim guard: %w", err)
		}
		var cur projectGuard
		err = table.Get("id", gid).Consistent(true).One(ctx, &cur)
		if errors.Is(err, dynamo.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return fmt.Errorf("read guard: %w", err)
		}
		held, err := s.GetProject(ctx, cur.ProjectID)
		switch {
		case err == nil && holds(held):
			return &ProjectExistsError{ID: cur.ProjectID}
		case err == nil:
			// The guarded project tracks a renamed repository: the name is free.
		case !errors.Is(err, ErrNotFound):
			return err
		case now.Sub(cur.GuardedAt) < guardTakeoverAfter:
			return &ProjectExistsError{ID: cur.ProjectID}
		}
		// The guarded project is gone (a failed registration or an interrupted delete)
		// or moved to another name.
		err = table.Put(g).If("$ = ?", "project_id", cur.ProjectID).Run(ctx)
		if err == nil {
			return nil
		}
		if !dynamo.IsCondCheckFailed(err) {
			return fmt.Errorf("take over guard: %w", err)
		}
	}
	return ErrConflict
}

// releaseGuard deletes the guard if it still points at projectID. A failure leaves a
// stale guard, which claimGuard takes over later, so it is not reported.
func (s *Store) releaseGuard(ctx context.Context, gid, projectID string) {
	_ = s.db.Table(s.tables.Projects).Delete("id", gid).If("$ = ?", "project_id", projectID).Run(ctx)
}

// GetProject reads a project (strongly consistent); ErrNotFound when there is none.
func (s *Store) GetProject(ctx context.Context, id string) (Project, error) {
	if id == "" || reservedID(id) {
		return Project{}, fmt.Errorf("project %q: %w", id, ErrNotFound)
	}
	var p Project
	err := s.db.Table(s.tables.Projects).Get("id", id).Consistent(true).One(ctx, &p)
	if err != nil {
		return Project{}, fmt.Errorf("project %s: %w", id, notFound(err))
	}
	return p, nil
}

// ProjectsByOwner returns a page of owner's projects, newest first, and the cursor of
// the next page ("" on the last page). limit is clamped to 1..MaxPageSize (0:
// DefaultPageSize). The by_owner index holds the keys only: the page's projects are
// read by key (ProjectsByID, one BatchGetItem). The index is eventually consistent: a
// project created a moment ago may be missing, and one deleted meanwhile is left out.
func (s *Store) ProjectsByOwner(ctx context.Context, owner string, limit int, cursor string) ([]Project, string, error) {
	limit = pageSize(limit)
	q := s.db.Table(s.tables.Projects).Get("owner", owner).Index(IndexProjectsByOwner).
		Order(dynamo.Descending).Limit(limit + 1)
	if cursor != "" {
		c, err := decodeCursor(cursor, "id", "created_at")
		if err != nil {
			return nil, "", err
		}
		q.StartFrom(dynamo.PagingKey{
			"owner":      &types.AttributeValueMemberS{Value: owner},
			"created_at": &types.AttributeValueMemberS{Value: c["created_at"]},
			"id":         &types.AttributeValueMemberS{Value: c["id"]},
		})
	}
	var keys []Project // the index holds the keys only
	if err := q.All(ctx, &keys); err != nil {
		return nil, "", fmt.Errorf("projects of %s: %w", owner, err)
	}
	next := ""
	if len(keys) > limit {
		keys = keys[:limit]
		last := keys[limit-1]
		created, err := attrString(last.CreatedAt)
		if err != nil {
			return nil, "", err
		}
		next = encodeCursor(map[string]string{"id": last.ID, "created_at": created})
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	out, err := s.ProjectsByID(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("projects of %s: %w", owner, err)
	}
	return out, next, nil
}

// DeleteProject deletes owner's project id and its registration guard; ErrNotFound when
// there is no such project of owner. Its snapshots and update log stay until
// PurgeProjectHistory removes them.
func (s *Store) DeleteProject(ctx context.Context, id, owner string) error {
	if id == "" || owner == "" || reservedID(id) {
		return fmt.Errorf("delete project %q: %w", id, ErrNotFound)
	}
	var old Project
	err := s.db.Table(s.tables.Projects).Delete("id", id).If("$ = ?", "owner", owner).OldValue(ctx, &old)
	if dynamo.IsCondCheckFailed(err) || errors.Is(err, dynamo.ErrNotFound) {
		return fmt.Errorf("delete project %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete project %s: %w", id, err)
	}
	s.releaseGuard(ctx, guardID(old.Owner, old.Repo), id)
	if old.RepoID != 0 {
		s.releaseGuard(ctx, repoIDGuardID(old.Owner, old.RepoID), id)
		s.removeFromDirectory(ctx, old.RepoID, id)
	}
	return nil
}

// PurgeProjectHistory deletes up to max snapshots and update log entries of a project
// (oldest first) and reports how many it deleted and whether any remain. Call it after
// DeleteProject; a later call continues where it stopped.
func (s *Store) PurgeProjectHistory(ctx context.Context, projectID string, max int) (int, bool, error) {
	if projectID == "" {
		return 0, false, errors.New("purge project history: empty id")
	}
	deleted := 0
	for _, t := range []struct{ table, rangeKey string }{
		{s.tables.Snapshots, "commit_key"},
		{s.tables.Updates, "update_key"},
	} {
		if deleted >= max {
			return deleted, true, nil
		}
		table := s.db.Table(t.table)
		var keys []map[string]any
		err := table.Get("project_id", projectID).Project("project_id", t.rangeKey).
			Limit(max-deleted+1).All(ctx, &keys)
		if err != nil {
			return deleted, true, fmt.Errorf("purge project %s: list %s: %w", projectID, t.table, err)
		}
		more := len(keys) > max-deleted
		if more {
			keys = keys[:max-deleted]
		}
		batch := make([]dynamo.Keyed, 0, len(keys))
		for _, k := range keys {
			batch = append(batch, dynamo.Keys{projectID, k[t.rangeKey]})
		}
		if len(batch) > 0 {
			if _, err := table.Batch("project_id", t.rangeKey).Write().Delete(batch...).Run(ctx); err != nil {
				return deleted, true, fmt.Errorf("purge project %s: delete from %s: %w", projectID, t.table, err)
			}
		}
		deleted += len(batch)
		if more {
			return deleted, true, nil
		}
	}
	return deleted, false, nil
}

// ListSnapshots returns a page of a project's snapshots, newest commit first, and the
// cursor of the next page ("" on the last page).
func (s *Store) ListSnapshots(ctx context.Context, projectID string, limit int, cursor string) ([]Snapshot, string, error) {
	out, next, err := pageByRange(ctx, s.db.Table(s.tables.Snapshots), projectID, "commit_key", limit, cursor,
		func(v Snapshot) string { return v.CommitKey })
	if err != nil {
		return nil, "", fmt.Errorf("snapshots of %s: %w", projectID, err)
	}
	return out, next, nil
}

// ListUpdates returns a page of a project's update log, newest first, and the cursor of
// the next page ("" on the last page).
func (s *Store) ListUpdates(ctx context.Context, projectID string, limit int, cursor string) ([]Update, string, error) {
	out, next, err := pageByRange(ctx, s.db.Table(s.tables.Updates), projectID, "update_key", limit, cursor,
		func(v Update) string { return v.UpdateKey })
	if err != nil {
		return nil, "", fmt.Errorf("updates of %s: %w", projectID, err)
	}
	return out, next, nil
}

// pageByRange reads one page, newest first, of a table keyed project_id + rangeKey. It
// asks for one item more than the page to learn whether another page follows, so the
// last page never hands out a cursor to an empty page.
func pageByRange[T any](ctx context.Context, table dynamo.Table, projectID, rangeKey string, limit int, cursor string,
	keyOf func(T) string) ([]T, string, error) {
	limit = pageSize(limit)
	q := table.Get("project_id", projectID).Order(dynamo.Descending).Limit(limit + 1)
	if cursor != "" {
		c, err := decodeCursor(cursor, rangeKey)
		if err != nil {
			return nil, "", err
		}
		q.StartFrom(dynamo.PagingKey{
			"project_id": &types.AttributeValueMemberS{Value: projectID},
			rangeKey:     &types.AttributeValueMemberS{Value: c[rangeKey]},
		})
	}
	var out []T
	if err := q.All(ctx, &out); err != nil {
		return nil, "", err
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, encodeCursor(map[string]string{rangeKey: keyOf(out[limit-1])}), nil
}

func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}

// attrString is v as the string DynamoDB stores for it (through the same encoder as
// the items), so that a cursor built from a decoded item matches the stored key.
func attrString(v any) (string, error) {
	av, err := dynamo.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	sv, ok := av.(*types.AttributeValueMemberS)
	if !ok {
		return "", errors.New("encode cursor: key is not a string")
	}
	return sv.Value, nil
}

// A cursor is the key of the last item of a page, less the partition key (which the
// caller supplies again), as base64url JSON: opaque to clients, and unable to reach
// another partition whatever a client puts in it.
func encodeCursor(key map[string]string) string {
	b, _ := json.Marshal(key) // a map of strings always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(cursor string, names ...string) (map[string]string, error) {
	if len(cursor) > 2048 {
		return nil, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrBadCursor
	}
	var key map[string]string
	if err := json.Unmarshal(b, &key); err != nil || len(key) != len(names) {
		return nil, ErrBadCursor
	}
	for _, n := range names {
		if key[n] == "" {
			return nil, ErrBadCursor
		}
	}
	return key, nil
}
