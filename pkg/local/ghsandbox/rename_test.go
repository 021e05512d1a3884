package ghsandbox

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestRenameRepo(t *testing.T) {
	s, base := NewServer(t, Options{})
	if err := s.WriteFile("alice", "proj", "docs/plan.md", []byte("- [ ] a\n")); err != nil {
		t.Fatal(err)
	}
	tok := "token " + mint(t, s, base, "1")
	type repo struct {
		ID       int64  `json:"id"`
		FullName string `json:"full_name"`
	}
	var before repo
	do(t, "GET", base+"/repos/alice/proj", tok, nil).json(t, &before)
	if err := s.RenameRepo("alice", "proj", "renamed"); err != nil {
		t.Fatal(err)
	}
	byID := base + "/repositories/" + strconv.FormatInt(before.ID, 10)

	t.Run("old name answers 301", func(t *testing.T) {
		for _, tt := range []struct{ path, want string }{
			{"/repos/alice/proj", byID},
			{"/repos/alice/proj/contents/docs/plan.md?ref=main", byID + "/contents/docs/plan.md?ref=main"},
			{"/repos/Alice/PROJ/commits/heads/main", byID + "/commits/heads/main"},
		} {
			a := do(t, "GET", base+tt.path, tok, nil)
			var body struct{ Message, URL string }
			a.json(t, &body)
			if a.status != http.StatusMovedPermanently || a.header.Get("Location") != tt.want || body.URL != tt.want || body.Message != "Moved Permanently" {
				t.Errorf("GET %s = %d Location %q %+v, want 301 to %s", tt.path, a.status, a.header.Get("Location"), body, tt.want)
			}
		}
		if a := do(t, "GET", base+"/repos/alice/proj", "", nil); a.status != http.StatusUnauthorized {
			t.Errorf("GET old name without a token = %d, want 401", a.status)
		}
	})
	t.Run("the id and new name serve the repository", func(t *testing.T) {
		for _, u := range []string{byID, base + "/repos/alice/renamed"} {
			var got repo
			a := do(t, "GET", u, tok, nil)
			a.json(t, &got)
			if a.status != 200 || got.ID != before.ID || got.FullName != "alice/renamed" {
				t.Errorf("GET %s = %d %+v, want id %d named alice/renamed", u, a.status, got, before.ID)
			}
		}
		var f struct{ Content string }
		a := do(t, "GET", byID+"/contents/docs/plan.md", tok, nil)
		a.json(t, &f)
		if got, _ := base64.StdEncoding.DecodeString(f.Content); a.status != 200 || string(got) != "- [ ] a\n" {
			t.Errorf("contents by id = %d %q, want the plan", a.status, got)
		}
		if a := do(t, "GET", base+"/repositories/12345", tok, nil); a.status != 404 {
			t.Errorf("unknown repository id = %d, want 404", a.status)
		}
	})
	t.Run("selected installations list the new name", func(t *testing.T) {
		if err := s.WriteFile("bob", "lib", "f", []byte("x")); err != nil {
			t.Fatal(err)
		}
		install(t, s, Installation{ID: 7, Account: "bob", Repos: []string{"bob/lib"}})
		if err := s.RenameRepo("bob", "lib", "core"); err != nil {
			t.Fatal(err)
		}
		tok7 := "token " + mint(t, s, base, "7")
		if a := do(t, "GET", base+"/repos/bob/core", tok7, nil); a.status != 200 {
			t.Errorf("new name through the selected installation = %d, want 200", a.status)
		}
		if a := do(t, "GET", base+"/repos/bob/lib", tok7, nil); a.status != http.StatusMovedPermanently {
			t.Errorf("old name through the selected installation = %d, want 301", a.status)
		}
	})
	t.Run("a new repository under the old name", func(t *testing.T) {
		if err := s.WriteFile("alice", "proj", "f", []byte("x")); err != nil {
			t.Fatal(err)
		}
		var got repo
		a := do(t, "GET", base+"/repos/alice/proj", tok, nil)
		a.json(t, &got)
		if a.status != 200 || got.ID == before.ID || !strings.EqualFold(got.FullName, "alice/proj") {
			t.Errorf("old name after a new repository took it = %d %+v, want another repository", a.status, got)
		}
	})
}
