package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestPutInstallation(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := testkit.Seq() + 1_000_000
	suspended := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	// Another writer (the installation callback) keeps its own attribute on the item.
	err := s.db.Table(s.tables.Installations).Update("installation_id", id).Set("linked_by", "user-1").Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.PutInstallation(ctx, Installation{InstallationID: id, AccountLogin: "Octo", Status: InstallationSuspended,
		SuspendedAt: &suspended, Repositories: []string{"Octo/B", "octo/a", "octo/b", ""}, SyncedAtMs: 2000})
	if err != nil {
		t.Fatalf("PutInstallation() error = %v", err)
	}
	if want := []string{"octo/a", "octo/b"}; !slices.Equal(in.Repositories, want) {
		t.Errorf("Repositories = %v, want %v", in.Repositories, want)
	}
	// A write based on an older read of GitHub is refused.
	if _, err := s.PutInstallation(ctx, Installation{InstallationID: id, Status: InstallationDeleted, SyncedAtMs: 1000}); !errors.Is(err, ErrStale) {
		t.Errorf("PutInstallation(older read) error = %v, want ErrStale", err)
	}
	got, err := s.GetInstallation(ctx, id)
	if err != nil {
		t.Fatalf("GetInstallation() error = %v", err)
	}
	if got.Status != InstallationSuspended || got.SuspendedAt == nil || !got.SuspendedAt.Equal(suspended) || len(got.Repositories) != 2 {
		t.Errorf("GetInstallation() = %+v", got)
	}
	// A newer read clears what is gone.
	if _, err := s.PutInstallation(ctx, Installation{InstallationID: id, AccountLogin: "Octo", Status: InstallationActive, SyncedAtMs: 3000}); err != nil {
		t.Fatalf("PutInstallation(newer) error = %v", err)
	}
	got, _ = s.GetInstallation(ctx, id)
	if got.Status != InstallationActive || got.SuspendedAt != nil || got.Repositories != nil {
		t.Errorf("after newer read: %+v, want active, no suspension, no repositories", got)
	}
	var raw map[string]any
	if err := s.db.Table(s.tables.Installations).Get("installation_id", id).One(ctx, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["linked_by"] != "user-1" {
		t.Errorf("other writer's attribute = %v, want kept", raw["linked_by"])
	}
	if _, err := s.GetInstallation(ctx, -5); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetInstallation(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestAddInstallationRepository(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := testkit.Seq() + 1_000_000
	if err := s.AddInstallationRepository(ctx, id, "octo/a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddInstallationRepository(unknown installation) error = %v, want ErrNotFound", err)
	}
	if _, err := s.PutInstallation(ctx, Installation{InstallationID: id, AccountLogin: "octo", Status: InstallationActive,
		Repositories: []string{"octo/a"}, SyncedAtMs: 2000}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"Octo/New", "octo/new", "octo/a"} {
		if err := s.AddInstallationRepository(ctx, id, r); err != nil {
			t.Fatalf("AddInstallationRepository(%s) error = %v", r, err)
		}
	}
	got, err := s.GetInstallation(ctx, id)
	slices.Sort(got.Repositories) // a DynamoDB set has no order
	if want := []string{"octo/a", "octo/new"}; err != nil || !slices.Equal(got.Repositories, want) || got.SyncedAtMs != 2000 || got.Status != InstallationActive {
		t.Errorf("GetInstallation() = %+v, %v, want repositories %v and the rest untouched", got, err, want)
	}
	// The next full read from GitHub still replaces the list.
	if _, err := s.PutInstallation(ctx, Installation{InstallationID: id, AccountLogin: "octo", Status: InstallationActive,
		Repositories: []string{"octo/b"}, SyncedAtMs: 3000}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetInstallation(ctx, id); !slices.Equal(got.Repositories, []string{"octo/b"}) {
		t.Errorf("after a full read Repositories = %v, want [octo/b]", got.Repositories)
	}
	if err := s.AddInstallationRepository(ctx, id, " "); err == nil {
		t.Errorf("AddInstallationRepository(empty) error = nil, want an error")
	}
}
