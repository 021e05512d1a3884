package ghapp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

// kindsEnv is a sandbox repository o/r holding every kind of tree entry, made on disk.
func kindsEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	e := newEnv(t, ghsandbox.Options{Root: root})
	e.write(t, "o", "r", "docs/real-plan.md", "- [x] done\n")
	e.write(t, "o", "r", "common/package.json", `{"dependencies":{"left-pad":"1.0.0"}}`)
	dir := filepath.Join(root, "o", "r")
	for _, err := range []error{
		os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755),
		os.Symlink("real-plan.md", filepath.Join(dir, "docs", "plan.md")),
		os.MkdirAll(filepath.Join(dir, "web"), 0o755),
		os.Symlink("../common/package.json", filepath.Join(dir, "web", "package.json")),
		os.Symlink("../common", filepath.Join(dir, "docs", "dirlink")),
		os.Symlink("plan.md", filepath.Join(dir, "docs", "chain.md")),
		os.Symlink("../../outside.md", filepath.Join(dir, "docs", "outside.md")),
		os.MkdirAll(filepath.Join(dir, "vendor", "lib"), 0o755),
		os.WriteFile(filepath.Join(dir, "vendor", "lib", ".git"), []byte("gitdir: x\n"), 0o644),
		os.WriteFile(filepath.Join(dir, "vendor", "lib", "go.mod"), []byte("module lib\n"), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestListFilesEntryKinds(t *testing.T) {
	e := kindsEnv(t)
	got, err := e.c.ListFiles(context.Background(), 1, "o", "r", "main")
	if err != nil {
		t.Fatal(err)
	}
	// A file's SHA is its content's blob; a symlink's is its target path's, as in git.
	want := []File{
		{Path: "common/package.json", Size: int64(len(`{"dependencies":{"left-pad":"1.0.0"}}`)), SHA: gitBlobSHA(`{"dependencies":{"left-pad":"1.0.0"}}`)},
		{Path: "docs/chain.md", Size: int64(len("plan.md")), Symlink: true, SHA: gitBlobSHA("plan.md")},
		{Path: "docs/dirlink", Size: int64(len("../common")), Symlink: true, SHA: gitBlobSHA("../common")},
		{Path: "docs/outside.md", Size: int64(len("../../outside.md")), Symlink: true, SHA: gitBlobSHA("../../outside.md")},
		{Path: "docs/plan.md", Size: int64(len("real-plan.md")), Symlink: true, SHA: gitBlobSHA("real-plan.md")},
		{Path: "docs/real-plan.md", Size: int64(len("- [x] done\n")), SHA: gitBlobSHA("- [x] done\n")},
		{Path: "run.sh", Size: int64(len("#!/bin/sh\n")), SHA: gitBlobSHA("#!/bin/sh\n")},
		{Path: "web/package.json", Size: int64(len("../common/package.json")), Symlink: true, SHA: gitBlobSHA("../common/package.json")},
	}
	// The submodule vendor/lib and the files inside it are not files of this repository.
	if !slices.Equal(got, want) {
		t.Fatalf("ListFiles() =\n%v\nwant\n%v", got, want)
	}
}

func TestFileContentSymlinks(t *testing.T) {
	e := kindsEnv(t)
	ctx := context.Background()
	followed := map[string]string{
		"docs/plan.md":     "- [x] done\n",
		"web/package.json": `{"dependencies":{"left-pad":"1.0.0"}}`,
		"run.sh":           "#!/bin/sh\n",
	}
	for p, want := range followed {
		t.Run(p, func(t *testing.T) {
			got, err := e.c.FileContent(ctx, 1, "o", "r", p, "", 0)
			if err != nil || string(got) != want {
				t.Fatalf("FileContent(%s) = %q, %v; want %q", p, got, err, want)
			}
		})
	}
	refused := map[string]string{
		"docs/dirlink":    "../common",
		"docs/chain.md":   "plan.md",
		"docs/outside.md": "../../outside.md",
	}
	for p, target := range refused {
		t.Run(p, func(t *testing.T) {
			_, err := e.c.FileContent(ctx, 1, "o", "r", p, "", 0)
			if !errors.Is(err, ErrSymlink) || !errors.Is(err, ErrNotAFile) || !errors.Is(err, ErrNotFound) || IsRetryable(err) {
				t.Fatalf("FileContent(%s) = %v; want ErrSymlink, ErrNotAFile, ErrNotFound", p, err)
			}
			if !strings.Contains(err.Error(), target) {
				t.Errorf("FileContent(%s) error %q does not name the target %q", p, err, target)
			}
		})
	}
	t.Run("submodule", func(t *testing.T) {
		_, err := e.c.FileContent(ctx, 1, "o", "r", "vendor/lib", "", 0)
		if !errors.Is(err, ErrNotAFile) || errors.Is(err, ErrSymlink) {
			t.Fatalf("FileContent(submodule) = %v; want ErrNotAFile", err)
		}
	})
}

// TestFileContentTooLargeForJSON: GitHub answers a JSON request for a file of 1–100 MB
// with 403 too_large. Under a limit below that, it is ErrTooLarge and nothing else is
// fetched; above it, the file is read through the object media type and the blob.
func TestFileContentTooLargeForJSON(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	big := strings.Repeat("0123456789abcdef", (3<<20)/16)
	e.write(t, "o", "r", "big.json", big)
	ctx := context.Background()
	limits := []struct {
		limit    int64
		contents int // contents calls: the 403 is not retried; over 1 MB the object is asked for
	}{{512 << 10, 1}, {1 << 20, 2}}
	for _, tt := range limits {
		e.sb.ResetCalls()
		_, err := e.c.FileContent(ctx, 1, "o", "r", "big.json", "", tt.limit)
		if !errors.Is(err, ErrTooLarge) || IsRetryable(err) {
			t.Fatalf("FileContent(big, max %d) = %v; want ErrTooLarge, not retryable", tt.limit, err)
		}
		if n := e.sb.CountCalls("GET", "/repos/o/r/git/blobs/*"); n != 0 {
			t.Errorf("max %d: blob calls = %d, want none", tt.limit, n)
		}
		if n := e.sb.CountCalls("GET", "/repos/o/r/contents/**"); n != tt.contents {
			t.Errorf("max %d: contents calls = %d, want %d", tt.limit, n, tt.contents)
		}
	}
	got, err := e.c.FileContent(ctx, 1, "o", "r", "big.json", "", 4<<20)
	if err != nil || string(got) != big {
		t.Fatalf("FileContent(big, max 4 MiB) = %d bytes, %v; want the file", len(got), err)
	}
}
