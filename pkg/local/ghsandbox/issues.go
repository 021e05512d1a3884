// Issues and pull requests: sandbox-only endpoints that open and close them and send the
// matching issues and pull_request webhooks.

package ghsandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// thread is an issue or a pull request; they share a repository's numbers, as on GitHub.
type thread struct {
	number   int
	pull     bool
	title    string
	head     string // a pull request's head branch
	state    string
	created  time.Time
	closedAt time.Time
}

// sandboxRoutes adds the sandbox-only endpoints (not GitHub's API; no credential, for
// people trying the local stack and for the soak driver).
func (s *Sandbox) sandboxRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sandbox/repos/{owner}/{repo}/issues", s.handleOpen(false))
	mux.HandleFunc("POST /_sandbox/repos/{owner}/{repo}/pulls", s.handleOpen(true))
	mux.HandleFunc("POST /_sandbox/repos/{owner}/{repo}/issues/{number}/close", s.handleClose(false))
	mux.HandleFunc("POST /_sandbox/repos/{owner}/{repo}/pulls/{number}/close", s.handleClose(true))
}

// OpenIssue opens an issue (or, with pull, a pull request from branch head) in owner/repo
// and sends its issues (pull_request) opened webhook. It returns the number and the
// delivery (zero when the sandbox sends no webhooks).
func (s *Sandbox) OpenIssue(owner, repo string, pull bool, title, head string) (int, Delivery, error) {
	ref, ok := s.lookupRepo(owner, repo)
	if !ok {
		return 0, Delivery{}, fmt.Errorf("ghsandbox: repository %s/%s not found", owner, repo)
	}
	if title == "" {
		return 0, Delivery{}, fmt.Errorf("ghsandbox: a title is required")
	}
	if head == "" {
		head = "feature"
	}
	key := strings.ToLower(ref.fullName())
	s.mu.Lock()
	th := &thread{number: len(s.threads[key]) + 1, pull: pull, title: title, head: head, state: "open", created: s.now().UTC().Truncate(time.Second)}
	s.threads[key] = append(s.threads[key], th)
	snap := *th
	s.mu.Unlock()
	d, err := s.sendThread(ref, snap, "opened")
	return snap.number, d, err
}

// CloseIssue closes issue (or pull request) number of owner/repo and sends its closed
// webhook.
func (s *Sandbox) CloseIssue(owner, repo string, pull bool, number int) (Delivery, error) {
	ref, ok := s.lookupRepo(owner, repo)
	if !ok {
		return Delivery{}, fmt.Errorf("ghsandbox: repository %s/%s not found", owner, repo)
	}
	key := strings.ToLower(ref.fullName())
	s.mu.Lock()
	var th *thread
	if number >= 1 && number <= len(s.threads[key]) && s.threads[key][number-1].pull == pull {
		th = s.threads[key][number-1]
	}
	if th == nil {
		s.mu.Unlock()
		return Delivery{}, errNoThread
	}
	th.state, th.closedAt = "closed", s.now().UTC().Truncate(time.Second)
	snap := *th
	s.mu.Unlock()
	return s.sendThread(ref, snap, "closed")
}

var errNoThread = errors.New("ghsandbox: no such issue or pull request")

func (s *Sandbox) sendThread(ref repoRef, th thread, action string) (Delivery, error) {
	in, ok := s.installationFor(ref.fullName())
	if !ok {
		return Delivery{}, nil
	}
	event := "issues"
	if th.pull {
		event = "pull_request"
	}
	body, err := s.threadPayload(event, ref, th, action, in)
	if err != nil {
		return Delivery{}, err
	}
	d, _ := s.send(outgoing{
		event: event, action: action, body: body, installationID: in.ID,
		repositoryID: s.repoID(ref.fullName()),
		summary:      fmt.Sprintf("%s #%d %q", ref.fullName(), th.number, th.title),
	})
	return d, nil
}

// threadPayload builds an issues or pull_request payload from the real one.
func (s *Sandbox) threadPayload(event string, ref repoRef, th thread, action string, in Installation) ([]byte, error) {
	m, err := s.template(event, ref)
	if err != nil {
		return nil, err
	}
	s.fill(m, ref, in)
	m["action"] = action
	base, full, n := s.webBase(), ref.fullName(), strconv.Itoa(th.number)
	key := "issue"
	kind := "issues"
	if th.pull {
		key, kind = "pull_request", "pulls"
		m["number"] = th.number
	}
	o := objectAt(m, key)
	o["number"], o["title"], o["state"] = th.number, th.title, th.state
	o["id"] = stableID(key, full+"#"+n)
	o["url"] = base + "/repos/" + full + "/" + kind + "/" + n
	o["html_url"] = base + "/" + full + "/" + map[bool]string{false: "issues", true: "pull"}[th.pull] + "/" + n
	o["created_at"] = timeString(th.created)
	o["updated_at"] = timeString(th.created)
	o["closed_at"] = nil
	o["labels"], o["milestone"] = []any{}, nil
	if !th.closedAt.IsZero() {
		o["closed_at"], o["updated_at"] = timeString(th.closedAt), timeString(th.closedAt)
	}
	user := objectAt(o, "user")
	user["login"], user["id"] = s.opts.SandboxUser, userID(s.opts.SandboxUser)
	if th.pull {
		o["merged"], o["merged_at"], o["draft"] = false, nil, false
		sha := zeroSHA
		if t, err := s.head(ref); err == nil && t.sha != "" {
			sha = t.sha
		}
		objectAt(o, "head")["ref"], objectAt(o, "head")["sha"] = th.head, sha
		objectAt(o, "head")["label"] = ref.Owner + ":" + th.head
		objectAt(o, "base")["ref"], objectAt(o, "base")["sha"] = DefaultBranch, sha
		objectAt(o, "base")["label"] = ref.Owner + ":" + DefaultBranch
	}
	return json.Marshal(m)
}

type threadRequest struct {
	Title string `json:"title"`
	Head  string `json:"head"`
}

func threadAnswer(number int, d Delivery) map[string]any {
	out := map[string]any{"number": number}
	if d.ID != 0 {
		out["delivery"] = deliveryJSON(d)
	}
	return out
}

func (s *Sandbox) handleOpen(pull bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req threadRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Title == "" {
			writeError(w, http.StatusUnprocessableEntity, "a JSON body with a title is required")
			return
		}
		if _, ok := s.lookupRepo(r.PathValue("owner"), r.PathValue("repo")); !ok {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		n, d, err := s.OpenIssue(r.PathValue("owner"), r.PathValue("repo"), pull, req.Title, req.Head)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "could not send the webhook")
			return
		}
		writeJSON(w, http.StatusCreated, threadAnswer(n, d))
	}
}

func (s *Sandbox) handleClose(pull bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("number"))
		if err != nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		d, err := s.CloseIssue(r.PathValue("owner"), r.PathValue("repo"), pull, n)
		if err != nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		writeJSON(w, http.StatusOK, threadAnswer(n, d))
	}
}
