package ghsandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestAppJWTChecks(t *testing.T) {
	clk := newClock()
	s, base := NewServer(t, Options{Now: clk.Now})
	now := clk.Now()
	key := testKey(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": s.AppID(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": s.AppID(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(s.AppID(), 10)
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"numeric iss", appJWT(t, key, jwt.MapClaims{"iss": s.AppID(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}), 200},
		{"string iss", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}), 200},
		{"iat within clock skew", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Add(50 * time.Second).Unix(), "exp": now.Add(5 * time.Minute).Unix()}), 200},
		{"ten minutes exactly", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}), 200},
		{"wrong key", appJWT(t, otherKey, jwt.MapClaims{"iss": id, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), 401},
		{"wrong iss", appJWT(t, key, jwt.MapClaims{"iss": "999", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), 401},
		{"iss not a number", appJWT(t, key, jwt.MapClaims{"iss": "abc", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), 401},
		{"no iss", appJWT(t, key, jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), 401},
		{"expired", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Add(-5 * time.Minute).Unix(), "exp": now.Add(-time.Second).Unix()}), 401},
		{"exp now", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Add(-time.Minute).Unix(), "exp": now.Unix()}), 401},
		{"no exp", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Unix()}), 401},
		{"no iat", appJWT(t, key, jwt.MapClaims{"iss": id, "exp": now.Add(time.Minute).Unix()}), 401},
		{"iat in the future", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Add(2 * time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix()}), 401},
		{"lifetime over ten minutes", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(9*time.Minute + 30*time.Second).Unix()}), 401},
		{"exp too far ahead", appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Add(50 * time.Second).Unix(), "exp": now.Add(12 * time.Minute).Unix()}), 401},
		{"HS256", "Bearer " + hs, 401},
		{"alg none", "Bearer " + none, 401},
		{"garbage", "Bearer not.a.jwt", 401},
		{"token scheme", strings.Replace(appJWT(t, key, jwt.MapClaims{"iss": id, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}), "Bearer", "token", 1), 401},
		{"no credentials", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "GET", base+"/app/installations/1", tt.auth, nil)
			if a.status != tt.want {
				t.Fatalf("GET /app/installations/1 = %d %s, want %d", a.status, a.body, tt.want)
			}
			if tt.want == 401 {
				var e struct {
					Message          string `json:"message"`
					DocumentationURL string `json:"documentation_url"`
				}
				a.json(t, &e)
				if e.Message == "" || e.DocumentationURL == "" {
					t.Errorf("401 body = %s, want message and documentation_url", a.body)
				}
			}
		})
	}
}

func TestAccessTokens(t *testing.T) {
	clk := newClock()
	s, base := NewServer(t, Options{Now: clk.Now, TokenTTL: 10 * time.Minute})
	if err := s.WriteFile("alice", "plan", "docs/plan.md", []byte("- [ ] a\n")); err != nil {
		t.Fatal(err)
	}
	install(t, s, Installation{ID: 7, Account: "acme", AccountType: "Organization", Repos: []string{"acme/other"}, Suspended: true})
	jwtAuth := goodJWT(t, s, clk.Now())

	a := do(t, "POST", base+"/app/installations/1/access_tokens", jwtAuth, strings.NewReader("null"))
	if a.status != http.StatusCreated {
		t.Fatalf("mint = %d %s, want 201", a.status, a.body)
	}
	var tok struct {
		Token               string `json:"token"`
		ExpiresAt           string `json:"expires_at"`
		RepositorySelection string `json:"repository_selection"`
	}
	a.json(t, &tok)
	if !strings.HasPrefix(tok.Token, "ghs_") || len(tok.Token) < 80 {
		t.Errorf("token = %d chars with prefix %q, want ghs_ and at least 80", len(tok.Token), tok.Token[:4])
	}
	if want := timeString(clk.Now().Add(10 * time.Minute)); tok.ExpiresAt != want {
		t.Errorf("expires_at = %s, want %s", tok.ExpiresAt, want)
	}
	if tok.RepositorySelection != "all" {
		t.Errorf("repository_selection = %q, want all", tok.RepositorySelection)
	}
	if got := s.TokensMinted(1); got != 1 {
		t.Errorf("TokensMinted(1) = %d, want 1", got)
	}

	t.Run("token works until expiry", func(t *testing.T) {
		if a := do(t, "GET", base+"/repos/alice/plan", "token "+tok.Token, nil); a.status != 200 {
			t.Fatalf("GET repo with token = %d, want 200", a.status)
		}
		if a := do(t, "GET", base+"/repos/alice/plan", "Bearer "+tok.Token, nil); a.status != 200 {
			t.Fatalf("GET repo with Bearer token = %d, want 200", a.status)
		}
		clk.Advance(10 * time.Minute)
		a := do(t, "GET", base+"/repos/alice/plan", "token "+tok.Token, nil)
		if a.status != 401 || a.message(t) != "Bad credentials" {
			t.Fatalf("GET repo with expired token = %d %s, want 401 Bad credentials", a.status, a.body)
		}
	})
	jwtAuth = goodJWT(t, s, clk.Now())
	t.Run("unknown installation", func(t *testing.T) {
		if a := do(t, "POST", base+"/app/installations/99/access_tokens", jwtAuth, nil); a.status != 404 {
			t.Fatalf("mint for unknown installation = %d, want 404", a.status)
		}
	})
	t.Run("suspended installation", func(t *testing.T) {
		if a := do(t, "POST", base+"/app/installations/7/access_tokens", jwtAuth, nil); a.status != 403 {
			t.Fatalf("mint for suspended installation = %d, want 403", a.status)
		}
	})
	t.Run("restricted token", func(t *testing.T) {
		if err := s.WriteFile("sandbox-user", "secret", "a.txt", []byte("x")); err != nil {
			t.Fatal(err)
		}
		a := do(t, "POST", base+"/app/installations/1/access_tokens", jwtAuth, strings.NewReader(`{"repositories":["secret"]}`))
		if a.status != 201 {
			t.Fatalf("restricted mint = %d %s, want 201", a.status, a.body)
		}
		var rt struct {
			Token string `json:"token"`
		}
		a.json(t, &rt)
		if a := do(t, "GET", base+"/repos/sandbox-user/secret", "token "+rt.Token, nil); a.status != 200 {
			t.Errorf("restricted token on its repo = %d, want 200", a.status)
		}
		if a := do(t, "GET", base+"/repos/alice/plan", "token "+rt.Token, nil); a.status != 404 {
			t.Errorf("restricted token on another repo = %d, want 404", a.status)
		}
		a = do(t, "POST", base+"/app/installations/1/access_tokens", jwtAuth, strings.NewReader(`{"repositories":["missing"]}`))
		if a.status != 422 {
			t.Errorf("mint restricted to a missing repo = %d, want 422", a.status)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		tk := mint(t, s, base, "1")
		s.RevokeTokens(1)
		if a := do(t, "GET", base+"/repos/alice/plan", "token "+tk, nil); a.status != 401 {
			t.Fatalf("revoked token = %d, want 401", a.status)
		}
	})
}

func TestInstallationCoverage(t *testing.T) {
	s, base := NewServer(t, Options{})
	writeRepos(t, s, "acme/one", "acme/two", "bob/three")
	install(t, s, Installation{ID: 5, Account: "acme", AccountType: "Organization", Repos: []string{"acme/one"}})
	tok5 := mint(t, s, base, "5")
	tok1 := mint(t, s, base, "1")
	tests := []struct {
		tok, repo string
		want      int
	}{
		{tok5, "acme/one", 200},
		{tok5, "ACME/One", 200}, // names are case-insensitive
		{tok5, "acme/two", 404},
		{tok5, "bob/three", 404},
		{tok1, "bob/three", 200},
		{tok1, "bob/missing", 404},
		{"ghs_unknown", "acme/one", 401},
		{"", "acme/one", 401},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			auth := ""
			if tt.tok != "" {
				auth = "token " + tt.tok
			}
			if a := do(t, "GET", base+"/repos/"+tt.repo, auth, nil); a.status != tt.want {
				t.Fatalf("GET /repos/%s = %d, want %d", tt.repo, a.status, tt.want)
			}
		})
	}
	var repo struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
		ID            int64  `json:"id"`
		Private       bool   `json:"private"`
	}
	do(t, "GET", base+"/repos/ACME/ONE", "token "+tok5, nil).json(t, &repo)
	if repo.FullName != "acme/one" || repo.DefaultBranch != "main" || repo.ID == 0 || !repo.Private {
		t.Errorf("repository = %+v, want acme/one on main with an id, private", repo)
	}
	if err := s.SetSuspended(5, true); err != nil {
		t.Fatal(err)
	}
	if a := do(t, "GET", base+"/repos/acme/one", "token "+tok5, nil); a.status != 403 {
		t.Errorf("token of suspended installation = %d, want 403", a.status)
	}
	s.RemoveInstallation(5)
	if a := do(t, "GET", base+"/repos/acme/one", "token "+tok5, nil); a.status != 401 {
		t.Errorf("token of removed installation = %d, want 401", a.status)
	}
}

func TestInstallationRepositoriesPagination(t *testing.T) {
	s, base := NewServer(t, Options{})
	for i := range 5 {
		if err := s.WriteFile("org", "r"+strconv.Itoa(i), "f", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	tok := mint(t, s, base, "1")
	a := do(t, "GET", base+"/installation/repositories?per_page=2&page=2", "token "+tok, nil)
	if a.status != 200 {
		t.Fatalf("list = %d, want 200", a.status)
	}
	var page repoPage
	a.json(t, &page)
	if page.TotalCount != 5 || !slices.Equal(page.names(), []string{"org/r2", "org/r3"}) {
		t.Errorf("page 2 = %+v, want total 5 and org/r2, org/r3", page)
	}
	link := a.header.Get("Link")
	for _, want := range []string{`page=3&per_page=2>; rel="next"`, `page=3&per_page=2>; rel="last"`, `page=1&per_page=2>; rel="first"`, `page=1&per_page=2>; rel="prev"`} {
		if !strings.Contains(link, want) {
			t.Errorf("Link = %s, want it to contain %s", link, want)
		}
	}
	a = do(t, "GET", base+"/installation/repositories?per_page=2&page=3", "token "+tok, nil)
	if strings.Contains(a.header.Get("Link"), `rel="next"`) {
		t.Errorf("last page Link = %s, want no next", a.header.Get("Link"))
	}
	a = do(t, "GET", base+"/installation/repositories?per_page=500", "token "+tok, nil)
	a.json(t, &page)
	if len(page.Repositories) != 5 || a.header.Get("Link") != "" {
		t.Errorf("per_page=500 = %d repositories, Link %q; want all 5 and no Link", len(page.Repositories), a.header.Get("Link"))
	}
}

func TestContents(t *testing.T) {
	s, base := NewServer(t, Options{})
	plan := []byte(strings.Repeat("- [x] a task with a long line of text\n", 10))
	big := make([]byte, maxInlineContent+10)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	files := map[string][]byte{"docs/plan.md": plan, "docs/sub/x.txt": []byte("x"), "big.bin": big, "go.mod": []byte("module m\n")}
	for p, d := range files {
		if err := s.WriteFile("alice", "proj", p, d); err != nil {
			t.Fatal(err)
		}
	}
	tok := "token " + mint(t, s, base, "1")
	head, _, err := s.Head("alice", "proj")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("file", func(t *testing.T) {
		a := do(t, "GET", base+"/repos/alice/proj/contents/docs/plan.md?ref=main", tok, nil)
		var f struct {
			Type, Encoding, Content, SHA, Path string
			Size                               int
		}
		a.json(t, &f)
		if a.status != 200 || f.Type != "file" || f.Encoding != "base64" || f.Path != "docs/plan.md" || f.Size != len(plan) || f.SHA != blobSHA(plan) {
			t.Fatalf("contents = %d %+v, want the file object", a.status, f)
		}
		if !strings.Contains(strings.TrimSuffix(f.Content, "\n"), "\n") {
			t.Errorf("content is not wrapped in lines as GitHub does")
		}
		got, err := base64.StdEncoding.DecodeString(f.Content)
		if err != nil || string(got) != string(plan) {
			t.Errorf("decoded content = %q, %v; want the file", got, err)
		}
	})
	t.Run("refs", func(t *testing.T) {
		for _, ref := range []string{"", "main", "refs/heads/main", head, head[:7]} {
			if a := do(t, "GET", base+"/repos/alice/proj/contents/go.mod?ref="+url.QueryEscape(ref), tok, nil); a.status != 200 {
				t.Errorf("contents at ref %q = %d, want 200", ref, a.status)
			}
		}
		if a := do(t, "GET", base+"/repos/alice/proj/contents/go.mod?ref=other", tok, nil); a.status != 404 {
			t.Errorf("contents at unknown ref = %d, want 404", a.status)
		}
	})
	t.Run("raw", func(t *testing.T) {
		a := do(t, "GET", base+"/repos/alice/proj/contents/go.mod", tok, nil, "Accept", "application/vnd.github.raw+json")
		if a.status != 200 || string(a.body) != "module m\n" {
			t.Errorf("raw contents = %d %q, want the bytes", a.status, a.body)
		}
	})
	t.Run("large file has no inline content", func(t *testing.T) {
		var f struct{ Encoding, Content, SHA string }
		do(t, "GET", base+"/repos/alice/proj/contents/big.bin", tok, nil, "Accept", "application/vnd.github.object+json").json(t, &f)
		if f.Encoding != "none" || f.Content != "" {
			t.Fatalf("large file = encoding %q, %d content bytes; want none and empty", f.Encoding, len(f.Content))
		}
		a := do(t, "GET", base+"/repos/alice/proj/git/blobs/"+f.SHA, tok, nil, "Accept", "application/vnd.github.raw+json")
		if a.status != 200 || len(a.body) != len(big) {
			t.Errorf("raw blob = %d, %d bytes; want 200, %d", a.status, len(a.body), len(big))
		}
		if a := do(t, "GET", base+"/repos/alice/proj/git/blobs/"+strings.Repeat("0", 40), tok, nil); a.status != 404 {
			t.Errorf("unknown blob = %d, want 404", a.status)
		}
	})
	t.Run("directory", func(t *testing.T) {
		var list []struct{ Type, Name, Path string }
		a := do(t, "GET", base+"/repos/alice/proj/contents/docs", tok, nil)
		a.json(t, &list)
		if len(list) != 2 || list[0].Name != "plan.md" || list[0].Type != "file" || list[1].Name != "sub" || list[1].Type != "dir" {
			t.Errorf("listing of docs = %+v, want plan.md (file), sub (dir)", list)
		}
		do(t, "GET", base+"/repos/alice/proj/contents/", tok, nil).json(t, &list)
		if len(list) != 3 {
			t.Errorf("root listing = %+v, want big.bin, docs, go.mod", list)
		}
	})
	t.Run("absent", func(t *testing.T) {
		for _, p := range []string{"nope.md", "docs/plan.md/x", "docs/../go.mod", "docs/%2e%2e/go.mod", ".git/config"} {
			a := do(t, "GET", base+"/repos/alice/proj/contents/"+p, tok, nil)
			if a.status != 404 || a.message(t) == "" {
				t.Errorf("contents of %s = %d %s, want 404 with a message", p, a.status, a.body)
			}
		}
	})
}

func TestHeadMovesWithFiles(t *testing.T) {
	clk := newClock()
	s, base := NewServer(t, Options{Now: clk.Now})
	if err := s.WriteFile("o", "r", "a.txt", []byte("one")); err != nil {
		t.Fatal(err)
	}
	sha1, at1, err := s.Head("o", "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(sha1) != 40 || !at1.Equal(clk.Now()) {
		t.Fatalf("Head = %s at %v, want 40 hex at %v", sha1, at1, clk.Now())
	}
	// A second write in the same second still yields a strictly newer head.
	if err := s.WriteFile("o", "r", "b/c.txt", []byte("two")); err != nil {
		t.Fatal(err)
	}
	sha2, at2, _ := s.Head("o", "r")
	if sha2 == sha1 || !at2.After(at1) {
		t.Fatalf("after write Head = %s at %v, want a new SHA after %v", sha2, at2, at1)
	}
	// The SHA depends only on the tree.
	if err := s.WriteFile("o2", "r", "a.txt", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFile("o2", "r", "b/c.txt", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if other, _, _ := s.Head("o2", "r"); other != sha2 {
		t.Errorf("same tree elsewhere has head %s, want %s", other, sha2)
	}
	if err := s.RemoveFile("o", "r", "b/c.txt"); err != nil {
		t.Fatal(err)
	}
	sha3, at3, _ := s.Head("o", "r")
	if sha3 != sha1 || !at3.After(at2) {
		t.Errorf("after removal Head = %s at %v, want %s after %v", sha3, at3, sha1, at2)
	}
	if _, err := os.Stat(filepath.Join(s.opts.Root, "o", "r", "b")); !os.IsNotExist(err) {
		t.Errorf("emptied directory b still exists: %v", err)
	}

	tok := "token " + mint(t, s, base, "1")
	var c struct {
		SHA    string `json:"sha"`
		Commit struct {
			Committer struct{ Date time.Time } `json:"committer"`
			Author    struct{ Date time.Time } `json:"author"`
		} `json:"commit"`
	}
	do(t, "GET", base+"/repos/o/r/commits/heads/main", tok, nil).json(t, &c)
	if c.SHA != sha3 || !c.Commit.Committer.Date.Equal(at3) || !c.Commit.Author.Date.Equal(at3) {
		t.Errorf("commit = %+v, want %s at %v", c, sha3, at3)
	}
	var b struct {
		Name   string `json:"name"`
		Commit struct {
			SHA string `json:"sha"`
		} `json:"commit"`
	}
	do(t, "GET", base+"/repos/o/r/branches/main", tok, nil).json(t, &b)
	if b.Name != "main" || b.Commit.SHA != sha3 {
		t.Errorf("branch = %+v, want main at %s", b, sha3)
	}
	if a := do(t, "GET", base+"/repos/o/r/branches/dev", tok, nil); a.status != 404 {
		t.Errorf("unknown branch = %d, want 404", a.status)
	}
	if a := do(t, "GET", base+"/repos/o/r/commits/dev", tok, nil); a.status != 422 {
		t.Errorf("unknown commit ref = %d, want 422", a.status)
	}

	t.Run("pinned head", func(t *testing.T) {
		pinned := strings.Repeat("ab", 20)
		old := at1.Add(-time.Hour)
		if err := s.SetCommit("o", "r", pinned, old); err != nil {
			t.Fatal(err)
		}
		do(t, "GET", base+"/repos/o/r/commits/main", tok, nil).json(t, &c)
		if c.SHA != pinned || !c.Commit.Committer.Date.Equal(old) {
			t.Errorf("pinned commit = %s at %v, want %s at %v", c.SHA, c.Commit.Committer.Date, pinned, old)
		}
		if a := do(t, "GET", base+"/repos/o/r/contents/a.txt?ref="+pinned, tok, nil); a.status != 200 {
			t.Errorf("contents at pinned SHA = %d, want 200", a.status)
		}
		if err := s.WriteFile("o", "r", "a.txt", []byte("changed")); err != nil {
			t.Fatal(err)
		}
		if sha, _, _ := s.Head("o", "r"); sha == pinned {
			t.Errorf("head after WriteFile still pinned")
		}
	})
	t.Run("empty repository", func(t *testing.T) {
		if err := os.MkdirAll(filepath.Join(s.opts.Root, "o", "empty"), 0o755); err != nil {
			t.Fatal(err)
		}
		if a := do(t, "GET", base+"/repos/o/empty/commits/main", tok, nil); a.status != 409 {
			t.Errorf("commit of empty repository = %d, want 409", a.status)
		}
		if a := do(t, "GET", base+"/repos/o/empty/contents/x", tok, nil); a.status != 404 {
			t.Errorf("contents of empty repository = %d, want 404", a.status)
		}
	})
}

func TestWriteFileRejectsEscapes(t *testing.T) {
	s, _ := NewServer(t, Options{})
	for _, tt := range []struct{ owner, repo, path string }{
		{"o", "r", "../x"}, {"o", "r", "a/../../x"}, {"..", "r", "x"}, {"o", "r", ""}, {"o", "r", ".git/config"}, {"o/p", "r", "x"},
	} {
		if err := s.WriteFile(tt.owner, tt.repo, tt.path, []byte("x")); err == nil {
			t.Errorf("WriteFile(%q, %q, %q) = nil, want an error", tt.owner, tt.repo, tt.path)
		}
	}
}

func TestOAuthExchange(t *testing.T) {
	clk := newClock()
	s, base := NewServer(t, Options{Now: clk.Now})
	exchange := func(t *testing.T, code string, accept string, body ...string) answer {
		t.Helper()
		kv := append([]string{"client_id", s.ClientID(), "client_secret", s.ClientSecret(), "code", code}, body...)
		return do(t, "POST", base+"/login/oauth/access_token", "", form(kv...),
			"Content-Type", "application/x-www-form-urlencoded", "Accept", accept)
	}
	type tokenAnswer struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}

	t.Run("any code is the sandbox user", func(t *testing.T) {
		var ans tokenAnswer
		a := exchange(t, "whatever", "application/json")
		a.json(t, &ans)
		if a.status != 200 || !strings.HasPrefix(ans.AccessToken, "ghu_") {
			t.Fatalf("exchange = %d %s, want a ghu_ token", a.status, a.body)
		}
		var u struct {
			Login string `json:"login"`
		}
		do(t, "GET", base+"/user", "Bearer "+ans.AccessToken, nil).json(t, &u)
		if u.Login != DefaultSandboxUser {
			t.Errorf("user = %q, want %q", u.Login, DefaultSandboxUser)
		}
	})
	t.Run("form answer without Accept json", func(t *testing.T) {
		a := exchange(t, "x", "")
		v, err := url.ParseQuery(string(a.body))
		if err != nil || !strings.HasPrefix(v.Get("access_token"), "ghu_") || v.Get("token_type") != "bearer" {
			t.Errorf("form answer = %s, want access_token and token_type", a.body)
		}
	})
	t.Run("JSON request", func(t *testing.T) {
		body := `{"client_id":"` + s.ClientID() + `","client_secret":"` + s.ClientSecret() + `","code":"c"}`
		var ans tokenAnswer
		do(t, "POST", base+"/login/oauth/access_token", "", strings.NewReader(body), "Content-Type", "application/json", "Accept", "application/json").json(t, &ans)
		if ans.AccessToken == "" {
			t.Errorf("JSON exchange gave no token")
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		var ans tokenAnswer
		a := do(t, "POST", base+"/login/oauth/access_token", "", form("client_id", s.ClientID(), "client_secret", "nope", "code", "c"), "Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
		a.json(t, &ans)
		if a.status != 200 || ans.Error != "incorrect_client_credentials" {
			t.Errorf("wrong secret = %d %s, want 200 incorrect_client_credentials", a.status, a.body)
		}
	})
	t.Run("registered codes are single-use and expire", func(t *testing.T) {
		s.AddOAuthCode("once", "carol")
		var ans tokenAnswer
		exchange(t, "once", "application/json").json(t, &ans)
		if ans.AccessToken == "" {
			t.Fatalf("first use of registered code failed: %+v", ans)
		}
		var u struct{ Login string }
		do(t, "GET", base+"/user", "token "+ans.AccessToken, nil).json(t, &u)
		if u.Login != "carol" {
			t.Errorf("registered code user = %q, want carol", u.Login)
		}
		ans = tokenAnswer{}
		exchange(t, "once", "application/json").json(t, &ans)
		if ans.Error != "bad_verification_code" {
			t.Errorf("replayed code = %+v, want bad_verification_code", ans)
		}
		s.AddOAuthCode("late", "carol")
		clk.Advance(11 * time.Minute)
		ans = tokenAnswer{}
		exchange(t, "late", "application/json").json(t, &ans)
		if ans.Error != "bad_verification_code" {
			t.Errorf("expired code = %+v, want bad_verification_code", ans)
		}
	})
	t.Run("empty code", func(t *testing.T) {
		var ans tokenAnswer
		exchange(t, "", "application/json").json(t, &ans)
		if ans.Error != "bad_verification_code" {
			t.Errorf("empty code = %+v, want bad_verification_code", ans)
		}
	})
	t.Run("user token expiry", func(t *testing.T) {
		tok := s.IssueUserToken("dave")
		clk.Advance(DefaultUserTokenTTL)
		if a := do(t, "GET", base+"/user", "token "+tok, nil); a.status != 401 {
			t.Errorf("expired user token = %d, want 401", a.status)
		}
	})
}

func TestStrictOAuthCodes(t *testing.T) {
	s, base := NewServer(t, Options{StrictOAuthCodes: true})
	a := do(t, "POST", base+"/login/oauth/access_token", "", form("client_id", s.ClientID(), "client_secret", s.ClientSecret(), "code", "made-up"), "Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
	if !strings.Contains(string(a.body), "bad_verification_code") {
		t.Errorf("unregistered code in strict mode = %s, want bad_verification_code", a.body)
	}
}

func TestUserInstallations(t *testing.T) {
	s, base := NewServer(t, Options{})
	for i := 2; i <= 4; i++ {
		install(t, s, Installation{ID: int64(i), Account: "org" + strconv.Itoa(i), AccountType: "Organization", Users: []string{"erin"}})
	}
	tok := "token " + s.IssueUserToken("erin")
	a := do(t, "GET", base+"/user/installations?per_page=2", tok, nil)
	var page struct {
		TotalCount    int `json:"total_count"`
		Installations []struct {
			ID      int64 `json:"id"`
			Account struct {
				Login string `json:"login"`
				Type  string `json:"type"`
			} `json:"account"`
		} `json:"installations"`
	}
	a.json(t, &page)
	if page.TotalCount != 3 || len(page.Installations) != 2 || page.Installations[0].ID != 2 || page.Installations[0].Account.Type != "Organization" {
		t.Errorf("page 1 = %+v, want installations 2 and 3 of 3", page)
	}
	if !strings.Contains(a.header.Get("Link"), `rel="next"`) {
		t.Errorf("Link = %q, want a next page", a.header.Get("Link"))
	}
	if a := do(t, "GET", base+"/user/installations/1/repositories", tok, nil); a.status != 404 {
		t.Errorf("erin on installation 1 repositories = %d, want 404", a.status)
	}
	sandbox := "token " + s.IssueUserToken(DefaultSandboxUser)
	do(t, "GET", base+"/user/installations", sandbox, nil).json(t, &page)
	if page.TotalCount != 1 || page.Installations[0].ID != 1 {
		t.Errorf("sandbox user installations = %+v, want only installation 1", page)
	}
}

func TestManifestFlow(t *testing.T) {
	s, base := NewServer(t, Options{})
	manifest := `{"name":"My App","url":"http://127.0.0.1:3000","redirect_url":"http://127.0.0.1:3000/manifest/done?x=1","setup_url":"http://127.0.0.1:3000/auth/github/install","hook_attributes":{"url":"http://127.0.0.1:3000/webhooks/github"}}`
	if a := do(t, "GET", base+"/settings/apps/new?state=abc", "", nil); a.status != 200 || !strings.Contains(string(a.body), `name="manifest"`) {
		t.Fatalf("manifest page = %d, want a form", a.status)
	}
	a := do(t, "POST", base+"/settings/apps/new?state=abc", "", form("manifest", manifest), "Content-Type", "application/x-www-form-urlencoded")
	if a.status != http.StatusFound {
		t.Fatalf("post manifest = %d %s, want 302", a.status, a.body)
	}
	loc, err := url.Parse(a.header.Get("Location"))
	if err != nil || loc.Path != "/manifest/done" || loc.Query().Get("state") != "abc" || loc.Query().Get("x") != "1" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect = %s, want redirect_url with code and state", a.header.Get("Location"))
	}
	if s.SetupURL() != "http://127.0.0.1:3000/auth/github/install" {
		t.Errorf("setup URL = %q, want the manifest's", s.SetupURL())
	}
	code := loc.Query().Get("code")
	a = do(t, "POST", base+"/app-manifests/"+code+"/conversions", "", nil)
	var conv struct {
		ID            int64  `json:"id"`
		Name          string `json:"name"`
		PEM           string `json:"pem"`
		WebhookSecret string `json:"webhook_secret"`
		ClientID      string `json:"client_id"`
		ClientSecret  string `json:"client_secret"`
	}
	a.json(t, &conv)
	if a.status != 201 || conv.ID != s.AppID() || conv.Name != "My App" || conv.PEM != string(s.PrivateKeyPEM()) ||
		conv.WebhookSecret != s.WebhookSecret() || conv.ClientID != s.ClientID() || conv.ClientSecret != s.ClientSecret() {
		t.Errorf("conversion = %d %+v, want the App's credentials", a.status, conv)
	}
	if a := do(t, "POST", base+"/app-manifests/"+code+"/conversions", "", nil); a.status != 404 {
		t.Errorf("replayed conversion = %d, want 404", a.status)
	}
	if a := do(t, "POST", base+"/settings/apps/new", "", form("manifest", `{"name":"x"}`), "Content-Type", "application/x-www-form-urlencoded"); a.status != 422 {
		t.Errorf("manifest without redirect_url = %d, want 422", a.status)
	}

	t.Run("installation page", func(t *testing.T) {
		a := do(t, "GET", base+"/apps/"+s.AppSlug()+"/installations/new?state=st", "", nil)
		if a.status != http.StatusFound {
			t.Fatalf("install page = %d, want 302", a.status)
		}
		loc, _ := url.Parse(a.header.Get("Location"))
		q := loc.Query()
		if loc.Path != "/auth/github/install" || q.Get("installation_id") != "1" || q.Get("setup_action") != "install" || q.Get("state") != "st" || q.Get("code") == "" {
			t.Fatalf("install redirect = %s, want setup URL with installation_id, setup_action, state, code", loc)
		}
		var ans struct {
			AccessToken string `json:"access_token"`
		}
		do(t, "POST", base+"/login/oauth/access_token", "", form("client_id", s.ClientID(), "client_secret", s.ClientSecret(), "code", q.Get("code")),
			"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json").json(t, &ans)
		if ans.AccessToken == "" {
			t.Errorf("install page code did not exchange")
		}
	})
}

func TestHookDeliveries(t *testing.T) {
	var redelivered []Delivery
	s, base := NewServer(t, Options{OnRedeliver: func(d Delivery) int { redelivered = append(redelivered, d); return 202 }})
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var added []Delivery
	for i := range 5 {
		added = append(added, s.AddDelivery(Delivery{DeliveredAt: t0.Add(time.Duration(i) * time.Minute), StatusCode: 500, Event: "push"}))
	}
	auth := goodJWT(t, s, time.Now())
	var ids []int64
	next := base + "/app/hook/deliveries?per_page=2"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		a := do(t, "GET", next, auth, nil)
		var page []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		a.json(t, &page)
		for _, d := range page {
			ids = append(ids, d.ID)
			if d.Status != "Invalid HTTP Response: 500" {
				t.Errorf("status = %q, want Invalid HTTP Response: 500", d.Status)
			}
		}
		next = ""
		if l := a.header.Get("Link"); l != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(strings.Split(l, ";")[0], "<"), ">")
		}
	}
	want := []int64{added[4].ID, added[3].ID, added[2].ID, added[1].ID, added[0].ID}
	if len(ids) != len(want) {
		t.Fatalf("listed ids = %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("listed ids = %v, want newest first %v", ids, want)
		}
	}
	if a := do(t, "POST", base+"/app/hook/deliveries/"+strconv.FormatInt(added[1].ID, 10)+"/attempts", auth, nil); a.status != 202 {
		t.Fatalf("redeliver = %d, want 202", a.status)
	}
	if a := do(t, "POST", base+"/app/hook/deliveries/1/attempts", auth, nil); a.status != 404 {
		t.Errorf("redeliver unknown = %d, want 404", a.status)
	}
	if got := s.Redelivered(); len(got) != 1 || got[0] != added[1].ID {
		t.Errorf("Redelivered() = %v, want [%d]", got, added[1].ID)
	}
	newest := s.Deliveries()[0]
	if newest.GUID != added[1].GUID || !newest.Redelivery || newest.StatusCode != 202 || newest.Status != "OK" || len(redelivered) != 1 {
		t.Errorf("new attempt = %+v, want redelivery of %s answered 202 OK", newest, added[1].GUID)
	}
}

func TestFaultsAndCalls(t *testing.T) {
	s, base := NewServer(t, Options{})
	if err := s.WriteFile("o", "r", "f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	tok := "token " + mint(t, s, base, "1")
	s.FailNext("GET", "/repos/*/*/contents/**", 2, 502)
	for i, want := range []int{502, 502, 200} {
		if a := do(t, "GET", base+"/repos/o/r/contents/f", tok, nil); a.status != want {
			t.Errorf("call %d = %d, want %d", i, a.status, want)
		}
	}
	reset := time.Now().Add(time.Hour)
	s.RateLimitNext("", "/repos/**", 1, 403, reset)
	a := do(t, "GET", base+"/repos/o/r", tok, nil)
	if a.status != 403 || a.header.Get("X-RateLimit-Remaining") != "0" || a.header.Get("X-RateLimit-Reset") != strconv.FormatInt(reset.Unix(), 10) {
		t.Errorf("rate limited = %d %v, want 403 with remaining 0 and reset", a.status, a.header)
	}
	s.SecondaryRateLimitNext("GET", "/repos/o/r", 1, 429, 30*time.Second)
	a = do(t, "GET", base+"/repos/o/r", tok, nil)
	if a.status != 429 || a.header.Get("Retry-After") != "30" {
		t.Errorf("secondary limit = %d %v, want 429 with Retry-After 30", a.status, a.header)
	}
	if s.PendingFaults() != 0 {
		t.Errorf("PendingFaults() = %d, want 0", s.PendingFaults())
	}
	// An outage: every call fails until ClearFaults ends it.
	s.InjectFault(Fault{Path: "/repos/**", Status: 503, Times: 1 << 30})
	if a := do(t, "GET", base+"/repos/o/r", tok, nil); a.status != 503 {
		t.Errorf("during the outage = %d, want 503", a.status)
	}
	s.ClearFaults()
	if a := do(t, "GET", base+"/repos/o/r", tok, nil); a.status != 200 || s.PendingFaults() != 0 {
		t.Errorf("after ClearFaults = %d (%d pending), want 200 and none pending", a.status, s.PendingFaults())
	}
	if got := s.CountCalls("GET", "/repos/o/r/contents/**"); got != 3 {
		t.Errorf("CountCalls(contents) = %d, want 3", got)
	}
	do(t, "GET", base+"/user", "token ghu_unknown", nil)
	calls := s.Calls()
	kinds := map[Credential]int{}
	for _, c := range calls {
		kinds[c.Credential]++
		if c.Credential == CredInstallationToken && c.InstallationID != 1 {
			t.Errorf("call %+v has installation %d, want 1", c, c.InstallationID)
		}
	}
	if kinds[CredAppJWT] != 1 || kinds[CredInstallationToken] != 7 || kinds[CredUnknown] != 1 {
		t.Errorf("credential kinds = %v, want 1 app_jwt, 5 installation_token, 1 unknown", kinds)
	}
	s.ResetCalls()
	if len(s.Calls()) != 0 {
		t.Errorf("Calls() after ResetCalls = %d, want 0", len(s.Calls()))
	}
}

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/repos/*/*", "/repos/o/r", true},
		{"/repos/*/*", "/repos/o/r/contents", false},
		{"/repos/*/*/contents/**", "/repos/o/r/contents/a/b/c", true},
		{"/repos/*/*/contents/**", "/repos/o/r/contents", true},
		{"/repos/**", "/repos", true},
		{"/app", "/app/installations", false},
		{"/user", "/user", true},
	}
	for _, tt := range tests {
		if got := matchPath(tt.pattern, tt.path); got != tt.want {
			t.Errorf("matchPath(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without Root = nil error, want one")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Root: file}); err == nil {
		t.Error("New with a file as Root = nil error, want one")
	}
	missing := filepath.Join(t.TempDir(), "a", "b")
	if _, err := New(Options{Root: missing}); err != nil {
		t.Errorf("New with a missing Root = %v, want it created", err)
	} else if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
		t.Errorf("Root %s not created: %v", missing, err)
	}
	if _, err := New(Options{Root: t.TempDir(), PrivateKeyPEM: []byte("junk")}); err == nil {
		t.Error("New with a junk key = nil error, want one")
	}
	s, err := New(Options{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.ParseRSAPrivateKeyFromPEM(s.PrivateKeyPEM()); err != nil {
		t.Errorf("generated key does not parse: %v", err)
	}
}
