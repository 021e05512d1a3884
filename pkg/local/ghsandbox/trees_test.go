package ghsandbox

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// treeAnswer is the git trees answer as a client decodes it.
type treeAnswer struct {
	SHA  string `json:"sha"`
	URL  string `json:"url"`
	Tree []struct {
		Path, Mode, Type, SHA, URL string
		Size                       *int64
	} `json:"tree"`
	Truncated bool `json:"truncated"`
}

func (a treeAnswer) paths() []string {
	var out []string
	for _, e := range a.Tree {
		out = append(out, e.Type+" "+e.Path)
	}
	return out
}

func treeFixture(t *testing.T, opts Options) (*Sandbox, string, string) {
	t.Helper()
	s, base := NewServer(t, opts)
	for _, p := range []string{"go.mod", "a-b.txt", "a/x.txt", "services/api/go.mod", "services/api/main.go", "services/web/package.json"} {
		if err := s.WriteFile("alice", "proj", p, []byte("content of "+p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WriteFile("bob", "other", "f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	return s, base, "token " + mint(t, s, base, "1")
}

func TestGitTrees(t *testing.T) {
	s, base, tok := treeFixture(t, Options{})
	head, _, err := s.Head("alice", "proj")
	if err != nil {
		t.Fatal(err)
	}
	get := func(t *testing.T, ref, query string) (answer, treeAnswer) {
		t.Helper()
		a := do(t, "GET", base+"/repos/alice/proj/git/trees/"+ref+query, tok, nil)
		var tr treeAnswer
		if a.status == http.StatusOK {
			a.json(t, &tr)
		}
		return a, tr
	}
	wantRecursive := []string{
		"blob a-b.txt", "tree a", "blob a/x.txt", "blob go.mod",
		"tree services", "tree services/api", "blob services/api/go.mod", "blob services/api/main.go",
		"tree services/web", "blob services/web/package.json",
	}
	_, root := get(t, head, "?recursive=1")

	t.Run("recursive", func(t *testing.T) {
		for _, ref := range []string{head, head[:7], "main", "heads/main", "refs/heads/main", root.SHA} {
			a, tr := get(t, ref, "?recursive=1")
			if a.status != http.StatusOK || !slices.Equal(tr.paths(), wantRecursive) || tr.Truncated || tr.SHA != root.SHA {
				t.Errorf("trees/%s?recursive=1 = %d %v (truncated %v, sha %s), want %v under root tree %s", ref, a.status, tr.paths(), tr.Truncated, tr.SHA, wantRecursive, root.SHA)
			}
		}
		for _, e := range root.Tree {
			switch e.Type {
			case "blob":
				data := []byte("content of " + e.Path)
				if e.Mode != modeBlob || e.SHA != blobSHA(data) || e.Size == nil || *e.Size != int64(len(data)) || !strings.HasSuffix(e.URL, "/git/blobs/"+e.SHA) {
					t.Errorf("blob entry %+v, want mode %s, sha %s, size %d", e, modeBlob, blobSHA(data), len(data))
				}
			case "tree":
				if e.Mode != modeTree || e.Size != nil || len(e.SHA) != 40 || !strings.HasSuffix(e.URL, "/git/trees/"+e.SHA) {
					t.Errorf("tree entry %+v, want mode %s, no size, a SHA", e, modeTree)
				}
			}
		}
		if root.SHA == head || !strings.HasSuffix(root.URL, "/repos/alice/proj/git/trees/"+root.SHA) {
			t.Errorf("root tree sha %s url %s, want the tree (not the commit %s) and its URL", root.SHA, root.URL, head)
		}
	})
	t.Run("one level", func(t *testing.T) {
		a, tr := get(t, "main", "")
		want := []string{"blob a-b.txt", "tree a", "blob go.mod", "tree services"}
		if a.status != http.StatusOK || !slices.Equal(tr.paths(), want) {
			t.Errorf("trees/main = %d %v, want %v", a.status, tr.paths(), want)
		}
	})
	t.Run("subtree", func(t *testing.T) {
		var services string
		for _, e := range root.Tree {
			if e.Path == "services" {
				services = e.SHA
			}
		}
		a, tr := get(t, services, "?recursive=1")
		want := []string{"tree api", "blob api/go.mod", "blob api/main.go", "tree web", "blob web/package.json"}
		if a.status != http.StatusOK || tr.SHA != services || !slices.Equal(tr.paths(), want) {
			t.Errorf("trees/<services>?recursive=1 = %d %s %v, want %s %v", a.status, tr.SHA, tr.paths(), services, want)
		}
	})
	t.Run("refused", func(t *testing.T) {
		install(t, s, Installation{ID: 7, Account: "bob", Repos: []string{"bob/other"}})
		tok7 := "token " + mint(t, s, base, "7")
		if err := os.MkdirAll(filepath.Join(s.opts.Root, "carol", "empty"), 0o755); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, path, auth string
			want             int
		}{
			{"no token", "/repos/alice/proj/git/trees/main", "", 401},
			{"unknown token", "/repos/alice/proj/git/trees/main", "token ghs_nope", 401},
			{"not covered", "/repos/alice/proj/git/trees/main", tok7, 404},
			{"covered", "/repos/bob/other/git/trees/main", tok7, 200},
			{"unknown branch", "/repos/alice/proj/git/trees/feature", tok, 404},
			{"unknown sha", "/repos/alice/proj/git/trees/" + strings.Repeat("0", 40), tok, 404},
			{"missing repository", "/repos/alice/nope/git/trees/main", tok, 404},
			{"empty repository", "/repos/carol/empty/git/trees/main", tok, 409},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := do(t, "GET", base+tt.path+"?recursive=1", tt.auth, nil)
				if a.status != tt.want {
					t.Fatalf("GET %s = %d %s, want %d", tt.path, a.status, a.body, tt.want)
				}
				if tt.want != 200 && a.message(t) == "" {
					t.Errorf("GET %s answered no message", tt.path)
				}
			})
		}
	})
}

func TestGitTreesTruncated(t *testing.T) {
	_, base, tok := treeFixture(t, Options{MaxTreeEntries: 4})
	a := do(t, "GET", base+"/repos/alice/proj/git/trees/main?recursive=1", tok, nil)
	var tr treeAnswer
	a.json(t, &tr)
	want := []string{"blob a-b.txt", "tree a", "blob a/x.txt", "blob go.mod"}
	if a.status != http.StatusOK || !tr.Truncated || !slices.Equal(tr.paths(), want) {
		t.Errorf("capped listing = %d truncated %v %v, want 200 truncated %v", a.status, tr.Truncated, tr.paths(), want)
	}
	a = do(t, "GET", base+"/repos/alice/proj/git/trees/main", tok, nil)
	a.json(t, &tr)
	if tr.Truncated || len(tr.Tree) != 4 {
		t.Errorf("one level of 4 entries = truncated %v, %d entries; want all 4, not truncated", tr.Truncated, len(tr.Tree))
	}
}
