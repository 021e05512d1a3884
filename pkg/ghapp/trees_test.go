package ghapp

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

func TestListFiles(t *testing.T) {
	var mu sync.Mutex
	endpoints := map[string]int{}
	e := newEnv(t, ghsandbox.Options{}, func(c *Config) {
		c.OnAPICall = func(ep string, _ int, _ error) {
			mu.Lock()
			endpoints[ep]++
			mu.Unlock()
		}
	})
	want := []string{"Dockerfile", "go.mod", "services/api/go.mod", "services/api/main.go", "services/web/package.json", "tools/py/requirements.txt"}
	// Written out of order: the listing is sorted whatever the tree order.
	for _, p := range []string{"services/web/package.json", "tools/py/requirements.txt", "go.mod", "Dockerfile", "services/api/main.go", "services/api/go.mod"} {
		e.write(t, "o", "r", p, "content of "+p)
	}
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 9, Account: "x", Repos: []string{"x/y"}}); err != nil {
		t.Fatal(err)
	}
	e.write(t, "x", "y", "f", "x")
	ctx := context.Background()
	head, _, err := e.sb.Head("o", "r")
	if err != nil {
		t.Fatal(err)
	}

	for _, ref := range []string{head, "main", ""} {
		t.Run("ref="+ref, func(t *testing.T) {
			got, err := e.c.ListFiles(ctx, 1, "o", "r", ref)
			if err != nil || !slices.Equal(filePaths(got), want) {
				t.Fatalf("ListFiles(o/r@%q) = %v, %v; want %v", ref, got, err, want)
			}
		})
	}
	mu.Lock()
	if endpoints[opTree] != 3 {
		t.Errorf("git trees calls = %d (%v), want 3, one per listing", endpoints[opTree], endpoints)
	}
	mu.Unlock()

	t.Run("retried on 502", func(t *testing.T) {
		e.sb.ResetCalls()
		e.sb.FailNext("GET", "/repos/o/r/git/trees/**", 1, 502)
		got, err := e.c.ListFiles(ctx, 1, "o", "r", head)
		if err != nil || !slices.Equal(filePaths(got), want) {
			t.Fatalf("ListFiles after a 502 = %v, %v; want %v", got, err, want)
		}
		if n := e.sb.CountCalls("GET", "/repos/o/r/git/trees/**"); n != 2 {
			t.Errorf("git trees calls = %d, want 2", n)
		}
	})

	notFound := []struct {
		name             string
		inst             int64
		owner, repo, ref string
	}{
		{"unknown ref", 1, "o", "r", strings.Repeat("0", 40)},
		{"unknown branch", 1, "o", "r", "feature"},
		{"missing repository", 1, "o", "nope", "main"},
		{"repository outside the installation", 9, "o", "r", "main"},
	}
	for _, tt := range notFound {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.c.ListFiles(ctx, tt.inst, tt.owner, tt.repo, tt.ref)
			if got != nil || !errors.Is(err, ErrNotFound) || IsRetryable(err) || errors.Is(err, ErrTruncated) {
				t.Fatalf("ListFiles(%s/%s@%s) = %v, %v; want ErrNotFound, not retryable", tt.owner, tt.repo, tt.ref, got, err)
			}
		})
	}
	t.Run("suspended installation", func(t *testing.T) {
		if err := e.sb.SetSuspended(9, true); err != nil {
			t.Fatal(err)
		}
		c := e.client(t)
		if _, err := c.ListFiles(ctx, 9, "x", "y", "main"); !errors.Is(err, ErrNoAccess) {
			t.Fatalf("ListFiles with a suspended installation = %v, want ErrNoAccess", err)
		}
	})
}

func TestListFilesEmptyRepository(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "o", "r", "f", "x")
	if err := e.sb.RemoveFile("o", "r", "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ListFiles(context.Background(), 1, "o", "r", "main"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ListFiles of an empty repository = %v, want ErrNotFound", err)
	}
}

func TestListFilesTruncated(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{MaxTreeEntries: 3})
	for _, p := range []string{"a.txt", "b/go.mod", "c/package.json", "d.txt"} {
		e.write(t, "o", "r", p, p)
	}
	// Git order: a.txt, b, b/go.mod, c, ...: the cut keeps a.txt and b/go.mod.
	got, err := e.c.ListFiles(context.Background(), 1, "o", "r", "main")
	if !errors.Is(err, ErrTruncated) || !slices.Equal(filePaths(got), []string{"a.txt", "b/go.mod"}) {
		t.Fatalf("ListFiles of a truncated tree = %v, %v; want [a.txt b/go.mod] and ErrTruncated", got, err)
	}
	if errors.Is(err, ErrNotFound) || IsRetryable(err) {
		t.Errorf("truncation error %v is a not-found or retryable error, want neither", err)
	}
}

func filePaths(fs []File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return out
}

func TestListFilesSizes(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "o", "r", "a/package.json", strings.Repeat("x", 1234))
	e.write(t, "o", "r", "go.mod", "")
	got, err := e.c.ListFiles(context.Background(), 1, "o", "r", "main")
	want := []File{
		{Path: "a/package.json", Size: 1234, SHA: gitBlobSHA(strings.Repeat("x", 1234))},
		{Path: "go.mod", Size: 0, SHA: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"}, // git's empty blob
	}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListFiles() = %v, %v; want %v", got, err, want)
	}
}

// gitBlobSHA is git's object name of a blob holding content.
func gitBlobSHA(content string) string {
	return fmt.Sprintf("%x", sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content))))
}
