package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/guregu/dynamo/v2"
)

// RepoIDLookup returns the GitHub id of repository fullName (owner/name) as the
// installation sees it: GitHub's GET /repos/{owner}/{repo}, which follows a rename to
// the repository's current name.
type RepoIDLookup func(ctx context.Context, installationID int64, fullName string) (int64, error)

// BackfillReport is what BackfillRepoIDs did.
type BackfillReport struct {
	// Lacking is how many projects had no repository id.
	Lacking int `json:"lacking"`
	// Updated is how many of them got one.
	Updated int `json:"updated"`
	// Unresolved names the projects whose repository GitHub did not name (gone, or no
	// longer readable by the installation), with why: deliveries do not find them; the
	// owner registers the repository again.
	Unresolved map[string]string `json:"unresolved,omitempty"`
	// Doubled names the projects that got an id another project of the same owner
	// already held (the owner registered the repository again under a new name before
	// the old project had the id): both stay, and deliveries update both.
	Doubled []string `json:"doubled,omitempty"`
}

// BackfillRepoIDs gives every project registered before repository ids were kept its
// repository's id, as looked up through its installation, the id's registration guard
// as CreateProject takes it, and its entry in the repository's directory
// (directory.go). Deliveries find projects by the id alone (ProjectsOfRepo), so a
// project without one is invisible to them until this has run: run it once, after
// deploying the version that stopped finding projects by name (see "Renamed
// repositories" in pkg/processor/README.md). Safe to run again, and beside live
// traffic: the id is only set where none is stored, on a project that still exists.
func (s *Store) BackfillRepoIDs(ctx context.Context, lookup RepoIDLookup) (BackfillReport, error) {
	var lacking []Project
	// Guards have no installation_id; projects always do.
	err := s.db.Table(s.tables.Projects).Scan().
		Filter("attribute_not_exists($) AND attribute_exists($)", "repo_id", "installation_id").
		All(ctx, &lacking)
	if err != nil {
		return BackfillReport{}, fmt.Errorf("backfill repository ids: scan projects: %w", err)
	}
	r := BackfillReport{Lacking: len(lacking)}
	for _, p := range lacking {
		if reservedID(p.ID) {
			continue
		}
		id, err := lookup(ctx, p.InstallationID, p.Repo)
		if err == nil && id == 0 {
			err = errors.New("no id in GitHub's answer")
		}
		if err != nil {
			if r.Unresolved == nil {
				r.Unresolved = map[string]string{}
			}
			r.Unresolved[p.ID] = fmt.Sprintf("%s: %v", p.Repo, err)
			continue
		}
		// Listed before the id is set, as CreateProject does (directory.go).
		p.RepoID = id
		if err := s.addToDirectory(ctx, p); err != nil {
			return r, fmt.Errorf("backfill repository id of project %s: %w", p.ID, err)
		}
		err = s.db.Table(s.tables.Projects).Update("id", p.ID).Set("repo_id", id).
			If("attribute_exists($) AND attribute_not_exists($)", "id", "repo_id").Run(ctx)
		if dynamo.IsCondCheckFailed(err) {
			continue // deleted, or given an id meanwhile
		}
		if err != nil {
			return r, fmt.Errorf("backfill repository id of project %s: %w", p.ID, err)
		}
		r.Updated++
		err = s.claimGuard(ctx, repoIDGuardID(p.Owner, id), p.ID, s.now().UTC(), func(held Project) bool { return held.RepoID == id })
		var exists *ProjectExistsError
		if errors.As(err, &exists) {
			if exists.ID == p.ID {
				continue // its own guard, from an earlier run
			}
			r.Doubled = append(r.Doubled, p.ID)
		} else if err != nil {
			return r, fmt.Errorf("backfill repository id of project %s: guard: %w", p.ID, err)
		}
	}
	return r, nil
}
