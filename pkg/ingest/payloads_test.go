package ingest

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/envelope"
)

// obj reads the payload values the tests compare envelopes with.
type obj map[string]any

func (o obj) get(keys ...string) any {
	var v any = map[string]any(o)
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (o obj) str(keys ...string) string { s, _ := o.get(keys...).(string); return s }
func (o obj) num(keys ...string) int64  { f, _ := o.get(keys...).(float64); return int64(f) }
func (o obj) flag(keys ...string) bool  { b, _ := o.get(keys...).(bool); return b }
func (o obj) list(keys ...string) []any { l, _ := o.get(keys...).([]any); return l }

func (o obj) time(keys ...string) *time.Time {
	t, err := time.Parse(time.RFC3339, o.str(keys...))
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}

// names collects key of each object of a list.
func names(l []any, key string) []string {
	var out []string
	for _, v := range l {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m[key].(string))
		}
	}
	return out
}

// wantEnvelope is the envelope of a payload as the tests read the payload: what the
// issue asks the envelope to carry, taken from the decoded file.
func wantEnvelope(event, delivery string, o obj) envelope.Envelope {
	e := envelope.Envelope{Version: envelope.Version, DeliveryID: delivery, EventType: event, ReceivedAt: fixedNow,
		Action: o.str("action"), InstallationID: o.num("installation", "id"), Sender: o.str("sender", "login")}
	if o.get("repository") != nil {
		e.Repository = &envelope.Repo{ID: o.num("repository", "id"), FullName: o.str("repository", "full_name"),
			DefaultBranch: o.str("repository", "default_branch"), Private: o.flag("repository", "private")}
	}
	switch event {
	case "push":
		var paths []string
		commits := o.list("commits")
		for _, c := range commits {
			for _, k := range []string{"added", "modified", "removed"} {
				for _, p := range c.(map[string]any)[k].([]any) {
					paths = append(paths, p.(string))
				}
			}
		}
		slices.Sort(paths)
		before, after := o.str("before"), o.str("after")
		e.Push = &envelope.Push{Ref: o.str("ref"), Before: before, After: after,
			Created: o.flag("created"), Deleted: o.flag("deleted"), Forced: o.flag("forced"),
			HeadCommitAt: o.time("head_commit", "timestamp"), Paths: slices.Compact(paths),
			PathsIncomplete: len(commits) >= 2048 || !o.flag("deleted") && (o.flag("forced") || len(commits) == 0 && before != after)}
	case "pull_request":
		pr := func(k ...string) []string { return append([]string{"pull_request"}, k...) }
		e.PullRequest = &envelope.PullRequest{Number: int(o.num(pr("number")...)), State: o.str(pr("state")...),
			Draft: o.flag(pr("draft")...), Merged: o.flag(pr("merged")...), Title: o.str(pr("title")...),
			Labels: names(o.list(pr("labels")...), "name"), Milestone: o.str(pr("milestone", "title")...),
			Author: o.str(pr("user", "login")...), HeadRef: o.str(pr("head", "ref")...), BaseRef: o.str(pr("base", "ref")...),
			CreatedAt: o.time(pr("created_at")...), UpdatedAt: o.time(pr("updated_at")...),
			ClosedAt: o.time(pr("closed_at")...), MergedAt: o.time(pr("merged_at")...)}
	case "issues":
		e.Issue = &envelope.Issue{Number: int(o.num("issue", "number")), State: o.str("issue", "state"), Title: o.str("issue", "title"),
			Labels: names(o.list("issue", "labels"), "name"), Milestone: o.str("issue", "milestone", "title"),
			CreatedAt: o.time("issue", "created_at"), UpdatedAt: o.time("issue", "updated_at"), ClosedAt: o.time("issue", "closed_at")}
	case "installation", "installation_repositories":
		in := &envelope.Installation{ID: o.num("installation", "id"), AccountLogin: o.str("installation", "account", "login"),
			AccountType: o.str("installation", "account", "type"), AccountID: o.num("installation", "account", "id"),
			RepositorySelection: o.str("installation", "repository_selection"), SuspendedAt: o.time("installation", "suspended_at")}
		if event == "installation" && e.Action == "created" {
			in.Repositories = names(o.list("repositories"), "full_name")
		}
		if event == "installation_repositories" {
			if s := o.str("repository_selection"); s != "" {
				in.RepositorySelection = s
			}
			in.Repositories = names(o.list("repositories_added"), "full_name")
			in.RepositoriesRemoved = names(o.list("repositories_removed"), "full_name")
		}
		e.Installation = in
	}
	return e
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHandleEveryPayload sends every real payload, signed, through the handler.
func TestHandleEveryPayload(t *testing.T) {
	dir := payloadsDir(t)
	type file struct{ event, path string }
	var files []file
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, path); !d.IsDir() && strings.Count(filepath.ToSlash(rel), "/") == 1 {
			files = append(files, file{event: filepath.Base(filepath.Dir(path)), path: path})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	if len(files) < 273 {
		t.Fatalf("found %d payload files under %s, want all 273", len(files), dir)
	}
	specific := map[string]int{}
	for i, f := range files {
		rel, _ := filepath.Rel(dir, f.path)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			body := readFile(t, f.path)
			var o obj
			if err := json.Unmarshal(body, &o); err != nil {
				t.Fatalf("decode %s: %v", rel, err)
			}
			r := newRig(t, Config{Secret: testSecret})
			id := guid(i)
			resp := r.handle(t, signed(f.event, id, body, testSecret))
			sent := r.queue.sent()

			if f.event == "ping" {
				if resp.StatusCode != http.StatusOK || answer(t, resp)["status"] != "pong" || len(sent) != 0 {
					t.Errorf("Handle(ping) = %d %s with %d sent, want 200 pong, nothing sent", resp.StatusCode, resp.Body, len(sent))
				}
				return
			}
			want := map[string]string{"status": "queued", "delivery_id": id, "event_type": f.event}
			if got := answer(t, resp); resp.StatusCode != http.StatusAccepted || jsonOf(t, got) != jsonOf(t, want) {
				t.Fatalf("Handle(%s) = %d %s, want 202 %v", rel, resp.StatusCode, resp.Body, want)
			}
			if len(sent) != 1 {
				t.Fatalf("Handle(%s) sent %d messages, want 1", rel, len(sent))
			}
			got, wantEnv := queued(t, sent[0]), wantEnvelope(f.event, id, o)
			if g, w := jsonOf(t, got), jsonOf(t, wantEnv); g != w {
				t.Errorf("Handle(%s) queued envelope\n got %s\nwant %s", rel, g, w)
			}
			if got.Push != nil || got.PullRequest != nil || got.Issue != nil || got.Installation != nil {
				specific[f.event]++
			}
			attrs := sent[0].MessageAttributes
			if v := attrs[envelope.AttrDeliveryID].StringValue; v == nil || *v != id {
				t.Errorf("Handle(%s) attribute %s = %v, want %s", rel, envelope.AttrDeliveryID, v, id)
			}
			if v := attrs[envelope.AttrEventType].StringValue; v == nil || *v != f.event {
				t.Errorf("Handle(%s) attribute %s = %v, want %s", rel, envelope.AttrEventType, v, f.event)
			}
			if *sent[0].QueueUrl != r.h.queueURL {
				t.Errorf("Handle(%s) queue = %s, want %s", rel, *sent[0].QueueUrl, r.h.queueURL)
			}
		})
	}
	// The event-specific parts were really compared, not skipped for want of data.
	for _, event := range []string{"push", "pull_request", "issues", "installation", "installation_repositories"} {
		if specific[event] == 0 {
			t.Errorf("no %s payload produced its event-specific envelope part", event)
		}
	}
}
