package store

// The repository directory: one item of the projects table per GitHub repository id
// ("repo#<id>"), listing the projects registered with that id and what a delivery
// decides on (each project's branch and plan path). Being keyed, it can be read in the
// same BatchGetItem as the delivery's event log entry (ProjectsAndEntry): the processor
// then tells an irrelevant delivery, a duplicate GitHub sent again and a delivery that
// needs handling apart with one read, where an index query and a refused write took two
// (pkg/processor/README.md counts the requests). A base-table item also answers with
// the project a registration just wrote, which the by_repo_id index may not list yet.
//
// It is a second copy of what the by_repo_id index holds, kept as a superset of the
// projects that exist: CreateProject adds a project's entry before it writes the
// project and DeleteProject removes it after the project is gone, so a failure between
// the two leaves an entry without a project (a delivery then reads the project by key,
// finds none, and ignores the delivery), never a project without an entry. A
// repository's directory is built from the index the first time anything needs it
// (buildDirectory), so existing tables need no migration; from then on the writers keep
// it. The item has none of the indexes' key attributes, so it stays out of all four,
// and it has no installation_id, so scans for projects pass it by.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

// directoryPrefix starts a directory item's id; entryPrefix each project's attribute.
const (
	directoryPrefix = "repo#"
	entryPrefix     = "project#"
)

// directoryAttempts bounds the rounds of reading, building and writing a directory
// against concurrent builders; each round that fails did so because another writer
// succeeded.
const directoryAttempts = 3

// directoryEntry is one project in a repository's directory.
type directoryEntry struct {
	Branch   string `dynamo:"branch,omitempty"`
	PlanPath string `dynamo:"plan_path,omitempty"`
}

func directoryID(repoID int64) string { return directoryPrefix + strconv.FormatInt(repoID, 10) }

// reservedID reports whether id is one of the projects table's own items (a guard or a
// directory), which no project may take.
func reservedID(id string) bool {
	return strings.HasPrefix(id, guardPrefix) || strings.HasPrefix(id, directoryPrefix)
}

// decodeDirectory returns the partial projects (id, repository id, branch, plan path)
// a directory item lists, ordered by id.
func decodeDirectory(item dynamo.Item, repoID int64) ([]Project, error) {
	var out []Project
	for name, v := range item {
		id, ok := strings.CutPrefix(name, entryPrefix)
		if !ok {
			continue
		}
		var e directoryEntry
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("directory of repository %d: entry %s is not a map", repoID, id)
		}
		if err := dynamo.UnmarshalItem(m.Value, &e); err != nil {
			return nil, fmt.Errorf("directory of repository %d: entry %s: %w", repoID, id, err)
		}
		out = append(out, Project{ID: id, RepoID: repoID, Branch: e.Branch, PlanPath: e.PlanPath})
	}
	slices.SortFunc(out, func(a, b Project) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func entryValue(p Project) (types.AttributeValue, error) {
	m, err := dynamo.MarshalItem(directoryEntry{Branch: p.Branch, PlanPath: p.PlanPath})
	if err != nil {
		return nil, err
	}
	return &types.AttributeValueMemberM{Value: m}, nil
}

// directoryProjects returns the projects registered with repository id repoID, from
// its directory, building the directory when there is none yet; missing says that a
// read just found none (the first round builds it without reading again).
func (s *Store) directoryProjects(ctx context.Context, repoID int64, missing bool) ([]Project, error) {
	for i := range directoryAttempts {
		if i > 0 || !missing {
			var item dynamo.Item
			err := s.db.Table(s.tables.Projects).Get("id", directoryID(repoID)).One(ctx, &item)
			switch {
			case err == nil:
				return decodeDirectory(item, repoID)
			case !errors.Is(err, dynamo.ErrNotFound):
				return nil, fmt.Errorf("directory of repository %d: %w", repoID, err)
			}
		}
		projects, built, err := s.buildDirectory(ctx, repoID, nil)
		if err != nil || built {
			return projects, err
		}
	}
	return nil, fmt.Errorf("directory of repository %d: %w", repoID, ErrConflict)
}

// buildDirectory writes repository repoID's directory from the by_repo_id index, with
// add among its projects when it is not nil, unless a directory exists already (built
// is then false: read it, or add to it). It returns the projects it wrote.
func (s *Store) buildDirectory(ctx context.Context, repoID int64, add *Project) (projects []Project, built bool, _ error) {
	projects, err := s.ProjectsByRepoID(ctx, repoID)
	if err != nil {
		return nil, false, fmt.Errorf("build directory: %w", err)
	}
	if add != nil && !slices.ContainsFunc(projects, func(p Project) bool { return p.ID == add.ID }) {
		projects = append(projects, Project{ID: add.ID, RepoID: repoID, Branch: add.Branch, PlanPath: add.PlanPath})
	}
	item := dynamo.Item{
		"id":       &types.AttributeValueMemberS{Value: directoryID(repoID)},
		"built_at": &types.AttributeValueMemberS{Value: TimeKey(s.now())},
	}
	for _, p := range projects {
		if item[entryPrefix+p.ID], err = entryValue(p); err != nil {
			return nil, false, fmt.Errorf("build directory of repository %d: %w", repoID, err)
		}
	}
	err = s.db.Table(s.tables.Projects).Put(item).If("attribute_not_exists($)", "id").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("build directory of repository %d: %w", repoID, err)
	}
	slices.SortFunc(projects, func(a, b Project) int { return strings.Compare(a.ID, b.ID) })
	return projects, true, nil
}

// addToDirectory lists project p (which has its repository id) in its repository's
// directory, building the directory first when there is none.
func (s *Store) addToDirectory(ctx context.Context, p Project) error {
	v, err := entryValue(p)
	if err != nil {
		return fmt.Errorf("directory entry of %s: %w", p.ID, err)
	}
	for range directoryAttempts {
		// Only into a directory that exists: one this made would list p alone, hiding
		// the repository's other projects until rebuilt.
		err := s.db.Table(s.tables.Projects).Update("id", directoryID(p.RepoID)).
			SetExpr("$ = ?", entryPrefix+p.ID, v).
			If("attribute_exists($)", "id").Run(ctx)
		if !dynamo.IsCondCheckFailed(err) {
			if err != nil {
				return fmt.Errorf("directory entry of %s: %w", p.ID, err)
			}
			return nil
		}
		_, built, err := s.buildDirectory(ctx, p.RepoID, &p)
		if err != nil || built {
			return err
		}
	}
	return fmt.Errorf("directory entry of %s: %w", p.ID, ErrConflict)
}

// removeFromDirectory takes project id out of repository repoID's directory, if there
// is one. A failure leaves an entry without a project, which deliveries pass over (see
// the top of this file), so it is logged, not returned.
func (s *Store) removeFromDirectory(ctx context.Context, repoID int64, id string) {
	err := s.db.Table(s.tables.Projects).Update("id", directoryID(repoID)).
		RemoveExpr("$", entryPrefix+id).
		If("attribute_exists($)", "id").Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		s.logger().Warn("directory entry not removed", "project_id", id, "repo_id", repoID, "err", err.Error())
	}
}

// ProjectsAndEntry reads, in one request (BatchGetItem, eventually consistent), the
// projects registered with repository repoID (partial: id, repository id, branch and
// plan path, from the repository's directory) and the event log entry of delivery
// deliveryID (nil when there is none; its status, lease and attempts only). A
// repository without a directory yet has it built (see buildDirectory), once.
func (s *Store) ProjectsAndEntry(ctx context.Context, repoID int64, deliveryID string) ([]Project, *Event, error) {
	if repoID == 0 || deliveryID == "" {
		return nil, nil, errors.New("projects and entry: repository id and delivery id are required")
	}
	projects, events := s.db.Table(s.tables.Projects), s.db.Table(s.tables.Events)
	var (
		table   string
		item    dynamo.Item
		dir     dynamo.Item
		entry   *Event
		dirSeen bool
	)
	iter := projects.Batch("id").Get(dynamo.Keys{directoryID(repoID)}).
		From(events, "delivery_id", dynamo.Keys{deliveryID}).
		ProjectTable(events, "delivery_id", "status", "lease_until", "attempts").
		IterWithTable(&table)
	for iter.Next(ctx, &item) {
		switch table {
		case s.tables.Projects:
			dir, dirSeen = item, true
		case s.tables.Events:
			var ev Event
			if err := dynamo.UnmarshalItem(item, &ev); err != nil {
				return nil, nil, fmt.Errorf("projects and entry: decode entry %s: %w", deliveryID, err)
			}
			entry = &ev
		}
		item = nil
	}
	if err := iter.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, nil, fmt.Errorf("projects of repository %d and entry %s: %w", repoID, deliveryID, err)
	}
	if !dirSeen {
		list, err := s.directoryProjects(ctx, repoID, true)
		return list, entry, err
	}
	list, err := decodeDirectory(dir, repoID)
	return list, entry, err
}

// ClaimRefusal says whether a claim of the delivery would be refused at now, as
// ClaimEvent decides it: ErrEventDone when it was processed or ignored, ErrEventBusy
// while another worker's lease is live, nil when it may be claimed.
func (e Event) ClaimRefusal(now time.Time) error { return refusal(e, now) }
