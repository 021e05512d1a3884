package ghsandbox

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kindsFixture is a repository with every kind of tree entry, made on disk: files, an
// executable, symlinks (to a file, a directory, another symlink, outside the
// repository, nowhere) and a nested repository (a submodule).
func kindsFixture(t *testing.T) (s *Sandbox, base, tok string) {
	t.Helper()
	root := t.TempDir()
	s, base = NewServer(t, Options{Root: root})
	for _, p := range []string{"docs/real-plan.md", "common/package.json", "web/x.txt"} {
		if err := s.WriteFile("alice", "proj", p, []byte("content of "+p)); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "alice", "proj")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Symlink("real-plan.md", filepath.Join(dir, "docs", "plan.md")))
	must(os.Symlink("../common/package.json", filepath.Join(dir, "web", "package.json")))
	must(os.Symlink("../common", filepath.Join(dir, "docs", "dirlink")))
	must(os.Symlink("plan.md", filepath.Join(dir, "docs", "chain.md")))
	must(os.Symlink("../../../etc/passwd", filepath.Join(dir, "docs", "outside.md")))
	must(os.Symlink("nope.md", filepath.Join(dir, "docs", "dangling.md")))
	must(os.MkdirAll(filepath.Join(dir, "vendor", "lib", "src"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "vendor", "lib", ".git"), []byte("gitdir: ../../.git/modules/lib\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "vendor", "lib", "src", "a.go"), []byte("package a\n"), 0o644))
	return s, base, "token " + mint(t, s, base, "1")
}

func TestTreeEntryKinds(t *testing.T) {
	_, base, tok := kindsFixture(t)
	var tr treeAnswer
	a := do(t, "GET", base+"/repos/alice/proj/git/trees/main?recursive=1", tok, nil)
	a.json(t, &tr)
	type entry struct{ mode, typ, blob string }
	got := map[string]entry{}
	for _, e := range tr.Tree {
		got[e.Path] = entry{e.Mode, e.Type, e.SHA}
		if e.Type == "commit" && (e.Size != nil || e.URL != "") {
			t.Errorf("submodule entry %+v has a size or URL; GitHub sends neither", e)
		}
	}
	want := map[string]entry{
		"docs/real-plan.md": {modeBlob, "blob", blobSHA([]byte("content of docs/real-plan.md"))},
		"run.sh":            {modeExecutable, "blob", blobSHA([]byte("#!/bin/sh\n"))},
		"docs/plan.md":      {modeSymlink, "blob", blobSHA([]byte("real-plan.md"))},
		"web/package.json":  {modeSymlink, "blob", blobSHA([]byte("../common/package.json"))},
		"docs/dirlink":      {modeSymlink, "blob", blobSHA([]byte("../common"))},
		"vendor/lib":        {modeSubmodule, "commit", got["vendor/lib"].blob},
		"vendor":            {modeTree, "tree", got["vendor"].blob},
	}
	for p, w := range want {
		if g, ok := got[p]; !ok || g != w {
			t.Errorf("tree entry %s = %+v (found %v), want %+v", p, g, ok, w)
		}
	}
	for p := range got {
		if strings.HasPrefix(p, "vendor/lib/") {
			t.Errorf("tree lists %s inside the submodule; git lists the submodule only", p)
		}
	}
	t.Run("symlink blob is its target", func(t *testing.T) {
		a := do(t, "GET", base+"/repos/alice/proj/git/blobs/"+want["docs/dirlink"].blob, tok, nil, "Accept", "application/vnd.github.raw+json")
		if a.status != http.StatusOK || string(a.body) != "../common" {
			t.Errorf("raw blob of a symlink = %d %q, want 200 %q", a.status, a.body, "../common")
		}
	})
}

func TestContentsSymlinksAndSubmodules(t *testing.T) {
	_, base, tok := kindsFixture(t)
	type obj struct {
		Type, Path, Target, Content, Encoding string
	}
	get := func(t *testing.T, p string) (answer, obj) {
		t.Helper()
		a := do(t, "GET", base+"/repos/alice/proj/contents/"+p, tok, nil)
		var o obj
		if a.status == http.StatusOK {
			a.json(t, &o)
		}
		return a, o
	}
	followed := []struct{ link, target string }{
		{"docs/plan.md", "docs/real-plan.md"},
		{"web/package.json", "common/package.json"},
	}
	for _, tt := range followed {
		t.Run("follows "+tt.link, func(t *testing.T) {
			a, o := get(t, tt.link)
			content, _ := base64.StdEncoding.DecodeString(o.Content)
			if a.status != 200 || o.Type != "file" || o.Path != tt.target || string(content) != "content of "+tt.target {
				t.Errorf("contents of %s = %d %+v, want the file %s", tt.link, a.status, o, tt.target)
			}
		})
	}
	notFollowed := []struct{ link, target string }{
		{"docs/dirlink", "../common"},
		{"docs/chain.md", "plan.md"},
		{"docs/outside.md", "../../../etc/passwd"},
		{"docs/dangling.md", "nope.md"},
	}
	for _, tt := range notFollowed {
		t.Run("symlink object "+tt.link, func(t *testing.T) {
			a, o := get(t, tt.link)
			if a.status != 200 || o.Type != "symlink" || o.Target != tt.target || o.Content != "" {
				t.Errorf("contents of %s = %d %+v, want a symlink object with target %s", tt.link, a.status, o, tt.target)
			}
		})
	}
	t.Run("submodule", func(t *testing.T) {
		a, o := get(t, "vendor/lib")
		if a.status != 200 || o.Type != "submodule" {
			t.Errorf("contents of a submodule = %d %+v, want type submodule", a.status, o)
		}
		if a, _ := get(t, "vendor/lib/src/a.go"); a.status != 404 {
			t.Errorf("contents inside a submodule = %d, want 404", a.status)
		}
	})
	t.Run("directory listing", func(t *testing.T) {
		var list []obj
		do(t, "GET", base+"/repos/alice/proj/contents/vendor", tok, nil).json(t, &list)
		// GitHub's documented quirk: a submodule is listed as a file.
		if len(list) != 1 || list[0].Type != "file" || list[0].Path != "vendor/lib" {
			t.Errorf("listing of vendor = %+v, want vendor/lib as type file", list)
		}
		do(t, "GET", base+"/repos/alice/proj/contents/web", tok, nil).json(t, &list)
		if len(list) != 2 || list[0].Type != "symlink" || list[0].Path != "web/package.json" {
			t.Errorf("listing of web = %+v, want web/package.json as a symlink", list)
		}
	})
}

func TestContentsLargeFileByMediaType(t *testing.T) {
	s, base := NewServer(t, Options{})
	big := []byte(strings.Repeat("0123456789abcdef", (maxInlineContent+16)/16))
	if err := s.WriteFile("alice", "proj", "big.bin", big); err != nil {
		t.Fatal(err)
	}
	tok := "token " + mint(t, s, base, "1")
	u := base + "/repos/alice/proj/contents/big.bin"

	t.Run("json is 403 too_large", func(t *testing.T) {
		for _, accept := range []string{"", "application/vnd.github+json", "application/json"} {
			a := do(t, "GET", u, tok, nil, "Accept", accept)
			var e struct {
				Message string
				Errors  []struct{ Resource, Field, Code string }
			}
			a.json(t, &e)
			if a.status != http.StatusForbidden || len(e.Errors) != 1 || e.Errors[0].Code != "too_large" || e.Message == "" {
				t.Errorf("JSON contents (Accept %q) of a %d-byte file = %d %s, want 403 too_large", accept, len(big), a.status, a.body)
			}
			if a.header.Get("Retry-After") != "" || a.header.Get("X-RateLimit-Remaining") == "0" {
				t.Errorf("too_large answer looks like a rate limit: %v", a.header)
			}
		}
	})
	t.Run("raw is the bytes", func(t *testing.T) {
		a := do(t, "GET", u, tok, nil, "Accept", "application/vnd.github.raw+json")
		if a.status != 200 || len(a.body) != len(big) {
			t.Errorf("raw contents = %d, %d bytes; want 200, %d", a.status, len(a.body), len(big))
		}
	})
	t.Run("object has no content", func(t *testing.T) {
		var f struct {
			Type, Encoding, Content, SHA string
			Size                         int
		}
		a := do(t, "GET", u, tok, nil, "Accept", "application/vnd.github.object+json")
		a.json(t, &f)
		if a.status != 200 || f.Type != "file" || f.Encoding != "none" || f.Content != "" || f.Size != len(big) || f.SHA != blobSHA(big) {
			t.Errorf("object contents = %d %+v, want the entry without content", a.status, f)
		}
	})
}
