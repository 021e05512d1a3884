package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

var received = time.Date(2026, 5, 4, 10, 30, 0, 0, time.UTC)

// readPayload returns a real payload file's bytes and its decoded object.
func readPayload(t testing.TB, rel string) ([]byte, testkit.Object) {
	t.Helper()
	return testkit.PayloadBytes(t, rel), testkit.PayloadObject(t, rel)
}

// edit returns the payload file rel, changed by fn and encoded again.
func edit(t testing.TB, rel string, fn func(m map[string]any)) []byte {
	t.Helper()
	m := testkit.PayloadObject(t, rel)
	fn(m)
	return m.JSON(t)
}

func mustBuild(t testing.TB, event string, payload []byte) *Envelope {
	t.Helper()
	e, err := Build(event, "d-1", payload, received)
	if err != nil {
		t.Fatalf("Build(%s) error = %v", event, err)
	}
	return e
}

func TestBuildCommonFields(t *testing.T) {
	tests := []struct{ event, file string }{
		{"push", "push/with-new-branch.payload.json"},
		{"pull_request", "pull_request/closed.payload.json"},
		{"issues", "issues/pinned.payload.json"},
		{"installation", "installation/created.payload.json"},
		{"installation_repositories", "installation_repositories/added.payload.json"},
		{"release", "release/created.with-installation.payload.json"},
		{"ping", "ping/with-app_id.payload.json"},
		{"security_advisory", "security_advisory/published.payload.json"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, m := readPayload(t, tt.file)
			e := mustBuild(t, tt.event, raw)
			want := Envelope{Version: Version, DeliveryID: "d-1", EventType: tt.event, ReceivedAt: received,
				Action: m.Str("action"), InstallationID: m.Num("installation.id"), Sender: m.Str("sender.login")}
			if m.Get("repository") != nil {
				want.Repository = &Repo{ID: m.Num("repository.id"), FullName: m.Str("repository.full_name"),
					DefaultBranch: m.Str("repository.default_branch"), Private: m.Bool("repository.private")}
			}
			got := *e
			got.Push, got.PullRequest, got.Issue, got.Installation = nil, nil, nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Build(%s) common fields = %+v, want %+v", tt.file, got, want)
			}
		})
	}
}

func TestBuildPush(t *testing.T) {
	raw, m := readPayload(t, "push/with-new-branch.payload.json")
	e := mustBuild(t, "push", raw)
	want := &Push{Ref: m.Str("ref"), Before: m.Str("before"), After: m.Str("after"),
		Created: m.Bool("created"), Deleted: m.Bool("deleted"), Forced: m.Bool("forced"),
		HeadCommitAt: m.Time("head_commit.timestamp"), Paths: []string{"README.md"}}
	if !reflect.DeepEqual(e.Push, want) {
		t.Errorf("Build(push).Push = %+v, want %+v", e.Push, want)
	}
}

func TestBuildPushPaths(t *testing.T) {
	commit := func(added, modified, removed []string) map[string]any {
		return map[string]any{"id": "x", "message": "m", "added": added, "modified": modified, "removed": removed}
	}
	payload := edit(t, "push/with-new-branch.payload.json", func(m map[string]any) {
		m["created"] = false
		m["commits"] = []any{
			commit([]string{"docs/plan.md", "b.go"}, []string{"go.mod"}, nil),
			commit(nil, []string{"docs/plan.md", "a.go"}, []string{"old.txt"}),
			commit([]string{"old.txt"}, []string{}, []string{"b.go"}),
		}
	})
	e := mustBuild(t, "push", payload)
	want := []string{"a.go", "b.go", "docs/plan.md", "go.mod", "old.txt"}
	if !slices.Equal(e.Push.Paths, want) || e.Push.PathsIncomplete {
		t.Errorf("Build(push).Push paths = %q, incomplete %t, want %q, false", e.Push.Paths, e.Push.PathsIncomplete, want)
	}
}

func TestBuildPushPathsIncomplete(t *testing.T) {
	const zero = "0000000000000000000000000000000000000000"
	oneCommit := []any{map[string]any{"added": []string{"README.md"}}}
	commits := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"added": []string{fmt.Sprintf("f%d", i)}}
		}
		return out
	}
	tests := []struct {
		name   string
		change func(m map[string]any)
		want   bool
	}{
		{"new branch with its commits", func(m map[string]any) {}, false},
		{"ordinary push", func(m map[string]any) { m["created"], m["before"] = false, "a1" }, false},
		{"forced push", func(m map[string]any) { m["created"], m["before"], m["forced"] = false, "a1", true }, true},
		{"reset to an existing commit, nothing listed", func(m map[string]any) {
			m["created"], m["before"], m["commits"] = false, "a1", []any{}
		}, true},
		{"branch created at an existing commit", func(m map[string]any) { m["commits"] = []any{} }, true},
		{"branch deleted", func(m map[string]any) {
			m["created"], m["deleted"], m["before"], m["after"], m["commits"], m["head_commit"] = false, true, "a1", zero, []any{}, nil
		}, false},
		{"nothing moved", func(m map[string]any) {
			m["created"], m["before"], m["commits"] = false, m["after"], []any{}
		}, false},
		{"2047 commits", func(m map[string]any) {
			m["created"], m["before"], m["commits"] = false, "a1", commits(PushCommitCap-1)
		}, false},
		{"2048 commits: GitHub may have cut the list", func(m map[string]any) {
			m["created"], m["before"], m["commits"] = false, "a1", commits(PushCommitCap)
		}, true},
		{"one commit, forced", func(m map[string]any) { m["before"], m["forced"], m["commits"] = "a1", true, oneCommit }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustBuild(t, "push", edit(t, "push/with-new-branch.payload.json", tt.change))
			if e.Push.PathsIncomplete != tt.want {
				t.Errorf("Build(push).Push.PathsIncomplete = %t, want %t", e.Push.PathsIncomplete, tt.want)
			}
		})
	}
}

func TestBuildPullRequest(t *testing.T) {
	for _, file := range []string{"pull_request/closed.payload.json", "pull_request/labeled.payload.json", "pull_request/converted_to_draft.payload.json"} {
		t.Run(file, func(t *testing.T) {
			raw, m := readPayload(t, file)
			e := mustBuild(t, "pull_request", raw)
			pr := func(k string) string { return "pull_request." + k }
			want := &PullRequest{Number: int(m.Num(pr("number"))), State: m.Str(pr("state")), Draft: m.Bool(pr("draft")),
				Merged: m.Bool(pr("merged")), Title: m.Str(pr("title")), Milestone: m.Str(pr("milestone.title")),
				Author: m.Str(pr("user.login")), HeadRef: m.Str(pr("head.ref")), BaseRef: m.Str(pr("base.ref")),
				CreatedAt: m.Time(pr("created_at")), UpdatedAt: m.Time(pr("updated_at")),
				ClosedAt: m.Time(pr("closed_at")), MergedAt: m.Time(pr("merged_at"))}
			for _, l := range m.List(pr("labels")) {
				want.Labels = append(want.Labels, l.(map[string]any)["name"].(string))
			}
			if !reflect.DeepEqual(e.PullRequest, want) {
				t.Errorf("Build(%s).PullRequest = %+v, want %+v", file, e.PullRequest, want)
			}
		})
	}
}

func TestBuildIssue(t *testing.T) {
	raw, m := readPayload(t, "issues/milestoned.payload.json")
	e := mustBuild(t, "issues", raw)
	want := &Issue{Number: int(m.Num("issue.number")), State: m.Str("issue.state"), Title: m.Str("issue.title"),
		Milestone: m.Str("issue.milestone.title"), CreatedAt: m.Time("issue.created_at"),
		UpdatedAt: m.Time("issue.updated_at"), ClosedAt: m.Time("issue.closed_at")}
	for _, l := range m.List("issue.labels") {
		want.Labels = append(want.Labels, l.(map[string]any)["name"].(string))
	}
	if want.Milestone == "" {
		t.Fatalf("issues/milestoned has no milestone title: the test would prove nothing")
	}
	if !reflect.DeepEqual(e.Issue, want) {
		t.Errorf("Build(issues).Issue = %+v, want %+v", e.Issue, want)
	}
}

func TestBuildInstallation(t *testing.T) {
	tests := []struct {
		file, event   string
		repos, remove []string
	}{
		{"installation/created.payload.json", "installation", []string{"Codertocat/Hello-World"}, nil},
		{"installation/suspend.payload.json", "installation", nil, nil},
		{"installation_repositories/added.payload.json", "installation_repositories", []string{"Codertocat/Space"}, nil},
		{"installation_repositories/removed.payload.json", "installation_repositories", nil, []string{"octocat/Hello-World"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, m := readPayload(t, tt.file)
			e := mustBuild(t, tt.event, raw)
			selection := m.Str("repository_selection")
			if selection == "" {
				selection = m.Str("installation.repository_selection")
			}
			want := &Installation{ID: m.Num("installation.id"), AccountLogin: m.Str("installation.account.login"),
				AccountType: m.Str("installation.account.type"), AccountID: m.Num("installation.account.id"),
				RepositorySelection: selection, SuspendedAt: m.Time("installation.suspended_at"),
				Repositories: tt.repos, RepositoriesRemoved: tt.remove}
			if !reflect.DeepEqual(e.Installation, want) {
				t.Errorf("Build(%s).Installation = %+v, want %+v", tt.file, e.Installation, want)
			}
			if e.InstallationID != want.ID {
				t.Errorf("Build(%s).InstallationID = %d, want %d", tt.file, e.InstallationID, want.ID)
			}
		})
	}
}

func TestBuildLenientTimestamps(t *testing.T) {
	payload := edit(t, "pull_request/closed.payload.json", func(m map[string]any) {
		pr := m["pull_request"].(map[string]any)
		pr["created_at"] = "yesterday"
		pr["updated_at"] = 1557933565
		pr["closed_at"] = "0000-01-01T00:00:00+01:00" // UTC would be year -1, which JSON cannot hold
		pr["merged_at"] = "2019-05-15T17:20:00+02:00"
	})
	e := mustBuild(t, "pull_request", payload)
	want := time.Date(2019, 5, 15, 15, 20, 0, 0, time.UTC)
	pr := e.PullRequest
	if pr.CreatedAt != nil || pr.UpdatedAt != nil || pr.ClosedAt != nil || pr.MergedAt == nil || !pr.MergedAt.Equal(want) || pr.MergedAt.Location() != time.UTC {
		t.Errorf("Build(pull_request) times = %v %v %v %v, want nil nil nil %v", pr.CreatedAt, pr.UpdatedAt, pr.ClosedAt, pr.MergedAt, want)
	}
	if _, err := e.Marshal(MaxBodyBytes); err != nil {
		t.Errorf("Marshal() error = %v", err)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name, event, payload string
		wantNotObject        bool
	}{
		{"empty", "push", ``, true},
		{"not json", "push", `hello`, true},
		{"array", "issues", `[{"action":"opened"}]`, true},
		{"null", "ping", `null`, true},
		{"string", "ping", `"x"`, true},
		{"truncated", "ping", `{"zen":`, false},
		{"trailing data", "ping", `{"zen":"x"} {}`, false},
		{"wrong type of a decoded field", "issues", `{"issue":{"number":"one"}}`, false},
		{"wrong type of the action", "star", `{"action":5}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Build(tt.event, "d", []byte(tt.payload), received)
			if err == nil || errors.Is(err, ErrNotObject) != tt.wantNotObject {
				t.Errorf("Build(%s, %q) = %v, %v, want an error (ErrNotObject %t)", tt.event, tt.payload, e, err, tt.wantNotObject)
			}
		})
	}
}

func TestMarshalBudget(t *testing.T) {
	tests := []struct {
		name                        string
		commits, perCommit, pathLen int
		wantPaths, wantIncomplete   bool
	}{
		{"small push keeps its paths", 10, 3, 40, true, false},
		{"2047 commits that fit keep their paths", PushCommitCap - 1, 1, 40, true, false},
		{"2048 commits that fit keep their paths, flagged", PushCommitCap, 1, 40, true, true},
		{"2048 commits of long paths drop them, flagged", PushCommitCap, 4, 200, false, true},
		{"few commits of many long paths drop them, flagged", 50, 300, 200, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := testkit.BigPush(t, tt.commits, tt.perCommit, tt.pathLen)
			e := mustBuild(t, "push", payload)
			b, err := e.Marshal(MaxBodyBytes)
			if err != nil {
				t.Fatalf("Marshal() error = %v", err)
			}
			if len(b) > MaxBodyBytes {
				t.Errorf("len(Marshal()) = %d, want <= %d", len(b), MaxBodyBytes)
			}
			var back Envelope
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("decode marshalled envelope: %v", err)
			}
			if got := len(back.Push.Paths) > 0; got != tt.wantPaths {
				t.Errorf("Marshal() kept paths = %t (%d), want %t", got, len(back.Push.Paths), tt.wantPaths)
			}
			if tt.wantPaths && len(back.Push.Paths) != tt.commits*tt.perCommit {
				t.Errorf("Marshal() paths = %d, want %d", len(back.Push.Paths), tt.commits*tt.perCommit)
			}
			if back.Push.PathsIncomplete != tt.wantIncomplete {
				t.Errorf("Marshal() PathsIncomplete = %t, want %t", back.Push.PathsIncomplete, tt.wantIncomplete)
			}
			if back.DeliveryID != "d-1" || back.Repository == nil || back.Push.After != e.Push.After {
				t.Errorf("Marshal() lost the common fields: %+v", back)
			}
		})
	}
}

func TestMarshalInstallationRepositories(t *testing.T) {
	payload := edit(t, "installation/created.payload.json", func(m map[string]any) {
		repos := make([]any, 6000)
		for i := range repos {
			repos[i] = map[string]any{"id": i, "name": fmt.Sprintf("repository-%05d", i), "full_name": fmt.Sprintf("an-organization-with-a-long-name/repository-%05d", i)}
		}
		m["repositories"] = repos
	})
	e := mustBuild(t, "installation", payload)
	if len(e.Installation.Repositories) != 6000 {
		t.Fatalf("Build() repositories = %d, want 6000", len(e.Installation.Repositories))
	}
	b, err := e.Marshal(MaxBodyBytes)
	if err != nil {
		t.Fatalf("Marshal() error = %v", err)
	}
	var back Envelope
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxBodyBytes || back.Installation.Repositories != nil || !back.Installation.RepositoriesIncomplete || back.Installation.ID != e.Installation.ID {
		t.Errorf("Marshal() = %d bytes, repositories %d, incomplete %t, want <= %d, 0, true",
			len(b), len(back.Installation.Repositories), back.Installation.RepositoriesIncomplete, MaxBodyBytes)
	}
}

func TestMarshalCutsTitles(t *testing.T) {
	long := strings.Repeat("é", MaxTitleBytes) // two bytes per rune
	e := &Envelope{Version: Version, DeliveryID: "d", EventType: "issues", ReceivedAt: received,
		Issue: &Issue{Number: 1, State: "open", Title: long, Milestone: long}}
	small, err := (&Envelope{Version: Version, DeliveryID: "d", EventType: "issues", ReceivedAt: received, Issue: &Issue{Number: 1, State: "open"}}).Marshal(MaxBodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	budget := len(small) + 2*MaxTitleBytes + 100
	b, err := e.Marshal(budget)
	if err != nil {
		t.Fatalf("Marshal(%d) error = %v", budget, err)
	}
	var back Envelope
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"title": back.Issue.Title, "milestone": back.Issue.Milestone} {
		if len(s) > MaxTitleBytes || len(s) < MaxTitleBytes-1 || !utf8.ValidString(s) || !strings.HasPrefix(long, s) {
			t.Errorf("Marshal() %s = %d bytes (valid UTF-8 %t), want a prefix of the title of about %d bytes", name, len(s), utf8.ValidString(s), MaxTitleBytes)
		}
	}
	if _, err := e.Marshal(len(small)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Marshal(%d) error = %v, want ErrTooLarge", len(small), err)
	}
}

func TestMarshalEscapesNonCharacters(t *testing.T) {
	title := "plan \uffff and \ufffe <b>&</b>"
	e := &Envelope{Version: Version, DeliveryID: "d", EventType: "issues", ReceivedAt: received, Issue: &Issue{Number: 1, State: "open", Title: title}}
	b, err := e.Marshal(MaxBodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "\uffff") || strings.Contains(string(b), "\ufffe") || !strings.Contains(string(b), `\uffff`) {
		t.Errorf("Marshal() = %s, want U+FFFE and U+FFFF escaped", b)
	}
	if !strings.Contains(string(b), "<b>&</b>") {
		t.Errorf("Marshal() = %s, want HTML characters left as they are", b)
	}
	var back Envelope
	if err := json.Unmarshal(b, &back); err != nil || back.Issue.Title != title {
		t.Errorf("decode Marshal() title = %q, %v, want %q", back.Issue.Title, err, title)
	}
}

func BenchmarkBuildPush(b *testing.B) {
	raw, _ := readPayload(b, "push/with-new-branch.payload.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		e, err := Build("push", "d", raw, received)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Marshal(MaxBodyBytes); err != nil {
			b.Fatal(err)
		}
	}
}
