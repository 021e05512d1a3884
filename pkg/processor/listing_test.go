package processor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
)

// truncatedListing lists only the first keep files of a commit, as GitHub does for a
// huge tree, and says so with ghapp.ErrTruncated.
type truncatedListing struct {
	*fakeGitHub
	keep int
}

func (l truncatedListing) ListFiles(ctx context.Context, inst int64, owner, name, ref string) ([]ghapp.File, error) {
	files, err := listingGitHub{l.fakeGitHub}.ListFiles(ctx, inst, owner, name, ref)
	if err != nil || len(files) <= l.keep {
		return files, err
	}
	return files[:l.keep], fmt.Errorf("fake: %d files listed: %w", l.keep, ghapp.ErrTruncated)
}

func TestTruncatedListingFallsBack(t *testing.T) {
	e := newTestEnvWith(t, func(f *fakeGitHub) GitHub { return truncatedListing{f, 2} })
	pr := e.addProject(nil)
	cargo := "[dependencies]\nserde = \"1\"\n"
	files := map[string]string{
		"a/package.json":     packageJSON, // listed
		"docs/plan.md":       planV1,      // listed
		"go.mod":             goMod,       // past the cut, at the root
		"y/Cargo.toml":       cargo,       // past the cut, named by the push
		"z/requirements.txt": "flask==3.0.0\n",
	}
	e.gh.commit(e.repo(), "main", t0, files)
	e.mustHandle(e.push("main", "docs/plan.md", "y/Cargo.toml").msg())
	want := []string{"a/package.json", "go.mod", "y/Cargo.toml"}
	if s := e.project(pr.ID).LatestSnapshot; !slices.Equal(s.Manifests, want) {
		t.Errorf("manifests = %v, want %v (the listed part, the root, the push)", s.Manifests, want)
	}
	if !strings.Contains(e.logs.String(), "file listing truncated") {
		t.Errorf("logs lack the truncation warning: %s", e.logs.String())
	}

	// The next push names only the plan: y/Cargo.toml is remembered from the snapshot.
	files["docs/plan.md"] = planV2
	e.gh.commit(e.repo(), "main", t0.Add(time.Minute), files)
	e.clock.Advance(time.Second)
	e.mustHandle(e.push("main", "docs/plan.md").msg())
	if s := e.project(pr.ID).LatestSnapshot; !slices.Equal(s.Manifests, want) || s.TasksDone != 3 {
		t.Errorf("after a second push: manifests = %v, %d done; want %v, 3 done", s.Manifests, s.TasksDone, want)
	}
}

func TestListingFailureFailsTheRecord(t *testing.T) {
	e := newTestEnvWith(t, func(f *fakeGitHub) GitHub { return listingGitHub{f} })
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1, "svc/go.mod": goMod})
	e.gh.failNext(opList, errRetryable("GET /repos/{owner}/{repo}/git/trees/{sha}"))
	d := e.push("main", "docs/plan.md")
	m := d.msg()
	e.mustFailLogged(d, m, "list files", "its listing failed")
	e.clock.Advance(3 * time.Minute)
	e.mustHandle(m)
	if s := e.project(pr.ID).LatestSnapshot; s == nil || !slices.Equal(s.Manifests, []string{"svc/go.mod"}) {
		t.Errorf("after the retry: snapshot %+v, want svc/go.mod found", s)
	}
}
