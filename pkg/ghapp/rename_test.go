package ghapp

import (
	"context"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

// TestRenamedRepositoryFollowed: GitHub answers 301 to a renamed repository's old name;
// the client follows it, so reads under the old name reach the repository, which names
// itself by its new name and keeps its id.
func TestRenamedRepositoryFollowed(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "o", "old", "docs/plan.md", "- [x] a\n")
	ctx := context.Background()
	before, err := e.c.Repository(ctx, 1, "o", "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.RenameRepo("o", "old", "new"); err != nil {
		t.Fatal(err)
	}
	got, err := e.c.Repository(ctx, 1, "o", "old")
	if err != nil || got.ID != before.ID || got.FullName != "o/new" {
		t.Fatalf("Repository(old name) after the rename = %+v, %v; want id %d named o/new", got, err, before.ID)
	}
	if data, err := e.c.FileContent(ctx, 1, "o", "old", "docs/plan.md", "", 0); err != nil || string(data) != "- [x] a\n" {
		t.Errorf("FileContent(old name) = %q, %v; want the plan", data, err)
	}
	if _, _, err := e.c.HeadCommit(ctx, 1, "o", "old", "main"); err != nil {
		t.Errorf("HeadCommit(old name) = %v, want the head", err)
	}
	if n := e.sb.CountCalls("GET", "/repos/o/old"); n < 2 {
		t.Errorf("calls to the old name = %d, want the 301 answered", n)
	}
}
