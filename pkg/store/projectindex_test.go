package store

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// TestProjectIndexProjections: each projects index, as the stand-in creates it from
// template.yaml, projects exactly what ProjectIndexAttrs says (keys only where it names
// nothing), and a query on it returns exactly the id, the index's keys and those
// attributes: nothing a project write changes, so an ordinary write costs no index
// write. It also shows that dynalite honours the projections, so a caller that needs
// more than an index holds fails the tests.
func TestProjectIndexProjections(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	raw := standin.DynamoDB(t)
	desc, err := raw.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.tables.Projects)})
	if err != nil {
		t.Fatal(err)
	}

	repoID := rand.Int64N(1<<40) + 1
	inst := rand.Int64N(1<<40) + 1
	p := procPutProject(t, s, Project{ID: procID("p"), Owner: procID("u"), Repo: procID("octo") + "/idx", RepoID: repoID,
		InstallationID: inst, Branch: "dev", IssueLabel: "plan", Status: ProjectActive, Version: 3,
		LatestSnapshot: &Snapshot{CommitSHA: "abc", PlanPath: "docs/plan.md", PlanFound: true, TasksTotal: 2},
		Progress:       ProgressSummary{TasksTotal: 2}})
	hashes := map[string]ddbtypes.AttributeValue{
		IndexProjectsByRepoID: &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(repoID, 10)},
		IndexProjectsByRepo:   &ddbtypes.AttributeValueMemberS{Value: p.Repo},
		IndexProjectsByInst:   &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(inst, 10)},
		IndexProjectsByOwner:  &ddbtypes.AttributeValueMemberS{Value: p.Owner},
	}
	if len(desc.Table.GlobalSecondaryIndexes) != len(ProjectIndexAttrs) {
		t.Errorf("projects table indexes = %d, want %d (ProjectIndexAttrs)", len(desc.Table.GlobalSecondaryIndexes), len(ProjectIndexAttrs))
	}
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		name := aws.ToString(g.IndexName)
		t.Run(name, func(t *testing.T) {
			include, ok := ProjectIndexAttrs[name]
			if !ok {
				t.Fatalf("index %s is not in ProjectIndexAttrs", name)
			}
			wantType := ddbtypes.ProjectionTypeInclude
			if len(include) == 0 {
				wantType = ddbtypes.ProjectionTypeKeysOnly
			}
			got := slices.Sorted(slices.Values(g.Projection.NonKeyAttributes))
			want := slices.Sorted(slices.Values(include))
			if g.Projection.ProjectionType != wantType || !slices.Equal(got, want) {
				t.Errorf("%s projection = %s %v, want %s %v", name, g.Projection.ProjectionType, got, wantType, want)
			}

			hash := aws.ToString(g.KeySchema[0].AttributeName)
			want = append([]string{"id"}, include...)
			for _, k := range g.KeySchema {
				want = append(want, aws.ToString(k.AttributeName))
			}
			slices.Sort(want)
			out, err := raw.Query(ctx, &dynamodb.QueryInput{
				TableName: aws.String(s.tables.Projects), IndexName: aws.String(name),
				KeyConditionExpression:    aws.String("#h = :h"),
				ExpressionAttributeNames:  map[string]string{"#h": hash},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":h": hashes[name]},
			})
			if err != nil {
				t.Fatalf("Query(%s) error = %v", name, err)
			}
			if len(out.Items) != 1 {
				t.Fatalf("Query(%s) = %d items, want 1", name, len(out.Items))
			}
			var names []string
			for k := range out.Items[0] {
				names = append(names, k)
			}
			slices.Sort(names)
			if !slices.Equal(names, want) {
				t.Errorf("Query(%s) item attributes = %v, want %v", name, names, want)
			}
		})
	}
}

// TestProjectsByID: whole projects by key, in the order asked, a missing one (deleted
// since an index listed it) and a guard left out.
func TestProjectsByID(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	a := procPutProject(t, s, Project{ID: procID("p"), Owner: "u1", Repo: "octo/a", RepoID: 1,
		LatestSnapshot: &Snapshot{CommitSHA: "aaa"}})
	b := procPutProject(t, s, Project{ID: procID("p"), Owner: "u1", Repo: "octo/b", RepoID: 2, Branch: "dev"})
	got, err := s.ProjectsByID(ctx, []string{b.ID, procID("gone"), a.ID, guardPrefix + "x", b.ID})
	if err != nil {
		t.Fatalf("ProjectsByID() error = %v", err)
	}
	if ids := projectIDs(got); !slices.Equal(ids, []string{b.ID, a.ID}) {
		t.Fatalf("ProjectsByID() = %v, want [%s %s]", ids, b.ID, a.ID)
	}
	if got[0].Branch != "dev" || got[1].LatestSnapshot == nil || got[1].LatestSnapshot.CommitSHA != "aaa" {
		t.Errorf("ProjectsByID() = %+v, want whole projects", got)
	}
	if got, err := s.ProjectsByID(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("ProjectsByID(nil) = %v, %v; want none", got, err)
	}
}

// TestProjectsByOwnerWhole: the API's list hands out whole projects although by_owner
// holds the keys only (the page is read by key), newest first.
func TestProjectsByOwnerWhole(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	owner := procID("owner")
	old := procPutProject(t, s, Project{ID: procID("p"), Owner: owner, Repo: "octo/old", RepoID: 1, Branch: "dev",
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	recent := procPutProject(t, s, Project{ID: procID("p"), Owner: owner, Repo: "octo/new", RepoID: 2, Status: ProjectActive,
		CreatedAt:      time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		LatestSnapshot: &Snapshot{CommitSHA: "abc", TasksTotal: 4, TasksDone: 1},
		Progress:       ProgressSummary{Plan: 0.25, TasksTotal: 4, TasksDone: 1}})
	got, next, err := s.ProjectsByOwner(ctx, owner, 0, "")
	if err != nil || next != "" {
		t.Fatalf("ProjectsByOwner() = _, %q, %v; want no error and no next page", next, err)
	}
	if ids := projectIDs(got); !slices.Equal(ids, []string{recent.ID, old.ID}) {
		t.Fatalf("ProjectsByOwner() = %v, want [%s %s]", ids, recent.ID, old.ID)
	}
	if p := got[0]; p.Status != ProjectActive || p.Repo != "octo/new" || p.LatestSnapshot == nil ||
		p.LatestSnapshot.CommitSHA != "abc" || p.Progress.TasksTotal != 4 || p.PlanPath == "" {
		t.Errorf("ProjectsByOwner()[0] = %+v, want the whole project", p)
	}
	if got[1].Branch != "dev" {
		t.Errorf("ProjectsByOwner()[1].Branch = %q, want dev", got[1].Branch)
	}
}
