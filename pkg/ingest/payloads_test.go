package ingest

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

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
func wantEnvelope(event, delivery string, o testkit.Object) envelope.Envelope {
	e := envelope.Envelope{Version: envelope.Version, DeliveryID: delivery, EventType: event, ReceivedAt: fixedNow,
		Action: o.Str("action"), InstallationID: o.Num("installation.id"), Sender: o.Str("sender.login")}
	if o.Get("repository") != nil {
		e.Repository = &envelope.Repo{ID: o.Num("repository.id"), FullName: o.Str("repository.full_name"),
			DefaultBranch: o.Str("repository.default_branch"), Private: o.Bool("repository.private")}
	}
	switch event {
	case "push":
		var paths []string
		commits := o.List("commits")
		for _, c := range commits {
			for _, k := range []string{"added", "modified", "removed"} {
				for _, p := range c.(map[string]any)[k].([]any) {
					paths = append(paths, p.(string))
				}
			}
		}
		slices.Sort(paths)
		before, after := o.Str("before"), o.Str("after")
		e.Push = &envelope.Push{Ref: o.Str("ref"), Before: before, After: after,
			Created: o.Bool("created"), Deleted: o.Bool("deleted"), Forced: o.Bool("forced"),
			HeadCommitAt: o.Time("head_commit.timestamp"), Paths: slices.Compact(paths),
			PathsIncomplete: len(commits) >= 2048 || !o.Bool("deleted") && (o.Bool("forced") || len(commits) == 0 && before != after)}
	case "pull_request":
		pr := func(k string) string { return "pull_request." + k }
		e.PullRequest = &envelope.PullRequest{Number: int(o.Num(pr("number"))), State: o.Str(pr("state")),
			Draft: o.Bool(pr("draft")), Merged: o.Bool(pr("merged")), Title: o.Str(pr("title")),
			Labels: names(o.List(pr("labels")), "name"), Milestone: o.Str(pr("milestone.title")),
			Author: o.Str(pr("user.login")), HeadRef: o.Str(pr("head.ref")), BaseRef: o.Str(pr("base.ref")),
			CreatedAt: o.Time(pr("created_at")), UpdatedAt: o.Time(pr("updated_at")),
			ClosedAt: o.Time(pr("closed_at")), MergedAt: o.Time(pr("merged_at"))}
	case "issues":
		e.Issue = &envelope.Issue{Number: int(o.Num("issue.number")), State: o.Str("issue.state"), Title: o.Str("issue.title"),
			Labels: names(o.List("issue.labels"), "name"), Milestone: o.Str("issue.milestone.title"),
			CreatedAt: o.Time("issue.created_at"), UpdatedAt: o.Time("issue.updated_at"), ClosedAt: o.Time("issue.closed_at")}
	case "installation", "installation_repositories":
		in := &envelope.Installation{ID: o.Num("installation.id"), AccountLogin: o.Str("installation.account.login"),
			AccountType: o.Str("installation.account.type"), AccountID: o.Num("installation.account.id"),
			RepositorySelection: o.Str("installation.repository_selection"), SuspendedAt: o.Time("installation.suspended_at")}
		if event == "installation" && e.Action == "created" {
			in.Repositories = names(o.List("repositories"), "full_name")
		}
		if event == "installation_repositories" {
			if s := o.Str("repository_selection"); s != "" {
				in.RepositorySelection = s
			}
			in.Repositories = names(o.List("repositories_added"), "full_name")
			in.RepositoriesRemoved = names(o.List("repositories_removed"), "full_name")
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
	payloads := testkit.Payloads(t, "")
	if len(payloads) != testkit.PayloadCount {
		t.Fatalf("found %d payload files, want all %d", len(payloads), testkit.PayloadCount)
	}
	specific := map[string]int{}
	for i, f := range payloads {
		rel := f.Path
		t.Run(rel, func(t *testing.T) {
			body := f.Body
			var o testkit.Object
			if err := json.Unmarshal(body, &o); err != nil {
				t.Fatalf("decode %s: %v", rel, err)
			}
			r := newRig(t, Config{Secret: testSecret})
			id := guid(i)
			resp := r.handle(t, signed(f.Event, id, body, testSecret))
			sent := r.queue.sent()

			if f.Event == "ping" {
				if resp.StatusCode != http.StatusOK || answer(t, resp)["status"] != "pong" || len(sent) != 0 {
					t.Errorf("Handle(ping) = %d %s with %d sent, want 200 pong, nothing sent", resp.StatusCode, resp.Body, len(sent))
				}
				return
			}
			want := map[string]string{"status": "queued", "delivery_id": id, "event_type": f.Event}
			if got := answer(t, resp); resp.StatusCode != http.StatusAccepted || jsonOf(t, got) != jsonOf(t, want) {
				t.Fatalf("Handle(%s) = %d %s, want 202 %v", rel, resp.StatusCode, resp.Body, want)
			}
			if len(sent) != 1 {
				t.Fatalf("Handle(%s) sent %d messages, want 1", rel, len(sent))
			}
			got, wantEnv := queued(t, sent[0]), wantEnvelope(f.Event, id, o)
			if g, w := jsonOf(t, got), jsonOf(t, wantEnv); g != w {
				t.Errorf("Handle(%s) queued envelope\n got %s\nwant %s", rel, g, w)
			}
			if got.Push != nil || got.PullRequest != nil || got.Issue != nil || got.Installation != nil {
				specific[f.Event]++
			}
			attrs := sent[0].MessageAttributes
			if v := attrs[envelope.AttrDeliveryID].StringValue; v == nil || *v != id {
				t.Errorf("Handle(%s) attribute %s = %v, want %s", rel, envelope.AttrDeliveryID, v, id)
			}
			if v := attrs[envelope.AttrEventType].StringValue; v == nil || *v != f.Event {
				t.Errorf("Handle(%s) attribute %s = %v, want %s", rel, envelope.AttrEventType, v, f.Event)
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
