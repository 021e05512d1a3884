package store

import (
	"context"
	"errors"
	"fmt"
)

// LinkUserInstallation records that a RepoTrackr user proved (through GitHub) access to
// an installation. Linking again refreshes the link.
func (s *Store) LinkUserInstallation(ctx context.Context, link UserInstallation) (UserInstallation, error) {
	if link.UserID == "" || link.InstallationID == 0 {
		return UserInstallation{}, errors.New("link user installation: user and installation are required")
	}
	if link.LinkedAt.IsZero() {
		link.LinkedAt = s.now().UTC()
	}
	if err := s.db.Table(s.tables.UserInstallations).Put(link).Run(ctx); err != nil {
		return UserInstallation{}, fmt.Errorf("link user %s to installation %d: %w", link.UserID, link.InstallationID, err)
	}
	return link, nil
}

// UserInstallations returns the installations linked to a user, by installation id.
func (s *Store) UserInstallations(ctx context.Context, userID string) ([]UserInstallation, error) {
	var out []UserInstallation
	err := s.db.Table(s.tables.UserInstallations).Get("user_id", userID).Consistent(true).All(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("installations of user %s: %w", userID, err)
	}
	return out, nil
}

// UnlinkUserInstallation removes a user's link to an installation (GitHub no longer
// confirms the user's access). Removing a link that is not there is no error.
func (s *Store) UnlinkUserInstallation(ctx context.Context, userID string, installationID int64) error {
	if err := s.db.Table(s.tables.UserInstallations).Delete("user_id", userID).Range("installation_id", installationID).Run(ctx); err != nil {
		return fmt.Errorf("unlink user %s from installation %d: %w", userID, installationID, err)
	}
	return nil
}
