package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/guregu/dynamo/v2"
)

// ErrStale is returned when a write is based on an older read of GitHub than the stored
// one.
var ErrStale = errors.New("stored state is newer")

// GetInstallation reads an installation (ErrNotFound when unknown).
func (s *Store) GetInstallation(ctx context.Context, id int64) (Installation, error) {
	var in Installation
	err := s.db.Table(s.tables.Installations).Get("installation_id", id).Consistent(true).One(ctx, &in)
	if err != nil {
		return Installation{}, fmt.Errorf("installation %d: %w", id, notFound(err))
	}
	return in, nil
}

// PutInstallation stores an installation as read from GitHub at in.SyncedAtMs (now
// when zero).
// Repositories are stored lower case, sorted and without duplicates. When the stored
// item was read from GitHub later than in (SyncedAtMs greater), nothing is written and
// ErrStale is returned, so that a slow worker never overwrites a fresher state. Items
// written without SyncedAtMs (for example by the installation callback) never block.
func (s *Store) PutInstallation(ctx context.Context, in Installation) (Installation, error) {
	if in.InstallationID == 0 {
		return Installation{}, errors.New("put installation: id is required")
	}
	in.Repositories = NormalizeRepos(in.Repositories)
	in.UpdatedAt = s.now().UTC()
	if in.SyncedAtMs == 0 {
		in.SyncedAtMs = in.UpdatedAt.UnixMilli()
	}
	// An update of the attributes read from GitHub, not a Put: attributes other writers
	// keep on the item survive.
	u := s.db.Table(s.tables.Installations).Update("installation_id", in.InstallationID).
		Set("account_login", in.AccountLogin).
		Set("account_type", in.AccountType).
		Set("repository_selection", in.RepositorySelection).
		SetSet("repositories", in.Repositories).
		Set("status", in.Status).
		Set("suspended_at", in.SuspendedAt).
		Set("updated_at", in.UpdatedAt).
		Set("synced_at_ms", in.SyncedAtMs).
		If("attribute_not_exists($) OR $ <= ?", "synced_at_ms", "synced_at_ms", in.SyncedAtMs)
	if in.AccountID != 0 {
		u.Set("account_id", in.AccountID)
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return Installation{}, fmt.Errorf("put installation %d: %w", in.InstallationID, ErrStale)
	}
	if err != nil {
		return Installation{}, fmt.Errorf("put installation %d: %w", in.InstallationID, err)
	}
	return in, nil
}

// AddInstallationRepository adds one repository (a full name) to an installation's
// stored list, as GitHub just confirmed it, without touching anything else: a later
// installation event's full list still replaces it. An installation not stored is
// ErrNotFound.
func (s *Store) AddInstallationRepository(ctx context.Context, installationID int64, fullName string) error {
	repos := NormalizeRepos([]string{fullName})
	if installationID == 0 || len(repos) != 1 {
		return errors.New("add installation repository: installation and repository are required")
	}
	err := s.db.Table(s.tables.Installations).Update("installation_id", installationID).
		AddStringsToSet("repositories", repos...).
		If("attribute_exists($)", "installation_id").
		Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("add repository to installation %d: %w", installationID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("add repository to installation %d: %w", installationID, err)
	}
	return nil
}

// NormalizeRepos lower-cases full names and returns them sorted without duplicates or
// empty names.
func NormalizeRepos(repos []string) []string {
	out := make([]string, 0, len(repos))
	for _, r := range repos {
		if r = strings.ToLower(strings.TrimSpace(r)); r != "" {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}
