// The webhook sender: deliveries to the App's webhook URL, signed and recorded as GitHub
// does, and real redeliveries of recorded ones.

package ghsandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/webhook"
)

// Defaults of the sender.
const (
	// DefaultHookID is the App's webhook id (X-GitHub-Hook-ID).
	DefaultHookID = 424242001
	// DefaultWebhookTimeout is how long GitHub waits for an answer before it records the
	// delivery as failed.
	DefaultWebhookTimeout = 10 * time.Second
	// DefaultDebounce is how long the watcher waits for the files to settle.
	DefaultDebounce = 300 * time.Millisecond
	// hookshotAgent is the User-Agent GitHub's webhook sender uses (its version varies).
	hookshotAgent = "GitHub-Hookshot/sandbox"
	// zeroSHA is GitHub's before of a created ref and after of a deleted one.
	zeroSHA = "0000000000000000000000000000000000000000"
	// maxStoredPayloads bounds the payloads kept for redelivery; the oldest go first.
	maxStoredPayloads = 10000
)

// Real payloads the deliveries are built from (see payloads/README.md).
//
//go:embed payloads/*.json
var payloadTemplates embed.FS

// Sent is one delivery the sandbox sent, as Options.OnSend sees it.
type Sent struct {
	Delivery Delivery
	// Summary says what the delivery is about: the repository and the paths of a push,
	// the issue or pull request.
	Summary string
	// Answer is the start of the answer's body; Err the transport error, if any.
	Answer string
	Err    error
}

// storedPayload is what a redelivery sends again.
type storedPayload struct {
	event, summary string
	body           []byte
}

// outgoing is one webhook to send.
type outgoing struct {
	event, action, summary string
	installationID         int64
	repositoryID           int64
	body                   []byte
	guid                   string // "" for a new delivery
}

// sending reports whether the sandbox sends webhooks at all.
func (s *Sandbox) sending() bool { return s.opts.WebhookURL != "" }

// signingSecret is the secret GitHub signs with: the first of a comma-separated
// current,previous pair.
func (s *Sandbox) signingSecret() string {
	sec, _, _ := strings.Cut(s.opts.WebhookSecret, ",")
	return strings.TrimSpace(sec)
}

func newGUID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// send delivers o to the webhook URL as GitHub does and records the attempt; it returns
// the recorded delivery. Without a webhook URL it records nothing and returns false.
func (s *Sandbox) send(o outgoing) (Delivery, bool) {
	if !s.sending() {
		return Delivery{}, false
	}
	redelivery := o.guid != ""
	if !redelivery {
		o.guid = newGUID()
		s.storePayload(o.guid, storedPayload{event: o.event, summary: o.summary, body: o.body})
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.WebhookTimeout)
	defer cancel()
	start := time.Now()
	code, answer, err := s.post(ctx, o)
	d := s.AddDelivery(Delivery{
		GUID: o.guid, Redelivery: redelivery, Duration: time.Since(start).Seconds(),
		StatusCode: code, Status: attemptStatus(code, err), Event: o.event, Action: o.action,
		InstallationID: o.installationID, RepositoryID: o.repositoryID,
	})
	if s.opts.OnSend != nil {
		s.opts.OnSend(Sent{Delivery: d, Summary: o.summary, Answer: answer, Err: err})
	}
	return d, true
}

// attemptStatus is the status GitHub records for an attempt that got no answer.
func attemptStatus(code int, err error) string {
	switch {
	case err == nil:
		return deliveryStatus(code)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "timed out"
	default:
		return "failed to connect to host"
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *Sandbox) post(ctx context.Context, o outgoing) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(o.body))
	if err != nil {
		return 0, "", err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "*/*")
	h.Set("User-Agent", hookshotAgent)
	h.Set(webhook.HeaderEvent, o.event)
	h.Set(webhook.HeaderDelivery, o.guid)
	h.Set("X-GitHub-Hook-ID", strconv.FormatInt(s.opts.HookID, 10))
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(s.opts.AppID, 10))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	if sec := s.signingSecret(); sec != "" {
		h.Set(webhook.HeaderSignature256, webhook.Sign(sec, o.body))
		// GitHub still sends the legacy SHA-1 signature beside it.
		mac := hmac.New(sha1.New, []byte(sec))
		mac.Write(o.body)
		h.Set(webhook.HeaderSignatureSHA1, "sha1="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

func (s *Sandbox) storePayload(guid string, p storedPayload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.payloadOrder) >= maxStoredPayloads {
		old := s.payloadOrder[0]
		s.payloadOrder = s.payloadOrder[1:]
		delete(s.payloads, old)
	}
	s.payloads[guid] = p
	s.payloadOrder = append(s.payloadOrder, guid)
}

// redeliver sends a recorded delivery's payload again with its GUID, in the background
// as GitHub does after answering 202. It reports false when the sandbox does not send
// webhooks or has no payload for the delivery (one added with AddDelivery).
func (s *Sandbox) redeliver(d Delivery) bool {
	if !s.sending() {
		return false
	}
	s.mu.Lock()
	p, ok := s.payloads[d.GUID]
	s.mu.Unlock()
	if !ok {
		return false
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.send(outgoing{
			event: p.event, action: d.Action, summary: p.summary, body: p.body, guid: d.GUID,
			installationID: d.InstallationID, repositoryID: d.RepositoryID,
		})
	}()
	return true
}

// Close stops the watcher and waits for deliveries under way. The HTTP handler keeps
// working.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.watchDone != nil {
			<-s.watchDone
		}
		s.bg.Wait()
	})
	return nil
}

// AgeDeliveries moves every recorded attempt d into the past, as if d had passed: tests
// of jobs that only act on deliveries of a certain age use it instead of waiting.
func (s *Sandbox) AgeDeliveries(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.deliveries {
		s.deliveries[i].DeliveredAt = s.deliveries[i].DeliveredAt.Add(-d)
	}
}

// ---- payloads

// template returns a real payload of the event with its example repository, owner and
// URLs replaced by the sandbox's, as a JSON object.
func (s *Sandbox) template(name string, ref repoRef) (map[string]any, error) {
	raw, err := payloadTemplates.ReadFile("payloads/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("payload template %s: %w", name, err)
	}
	base := s.webBase()
	r := strings.NewReplacer(
		"https://api.github.com/repos/Codertocat/Hello-World", base+"/repos/"+ref.fullName(),
		"https://github.com/Codertocat/Hello-World", base+"/"+ref.fullName(),
		"Codertocat/Hello-World", ref.fullName(),
		"https://api.github.com", base,
		"https://github.com", base,
		"https://uploads.github.com", base,
		`"Hello-World"`, strconv.Quote(ref.Name),
		"Codertocat", ref.Owner,
	)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Replace(string(raw))), &m); err != nil {
		return nil, fmt.Errorf("payload template %s: %w", name, err)
	}
	return m, nil
}

// webBase is the sandbox's URL for links in payloads.
func (s *Sandbox) webBase() string {
	if s.opts.URL != "" {
		return strings.TrimSuffix(s.opts.URL, "/")
	}
	return "http://sandbox.localhost"
}

// fill sets the repository, sender and installation objects of a payload the way a
// payload about ref in installation in has them.
func (s *Sandbox) fill(m map[string]any, ref repoRef, in Installation) {
	base := s.webBase()
	repo := objectAt(m, "repository")
	for k, v := range s.repoJSON(base, ref) {
		repo[k] = v
	}
	owner := objectAt(repo, "owner")
	owner["login"], owner["id"] = ref.Owner, userID(ref.Owner)
	owner["type"] = s.accountType(ref.Owner)
	sender := objectAt(m, "sender")
	sender["login"], sender["id"] = s.opts.SandboxUser, userID(s.opts.SandboxUser)
	sender["node_id"] = "U_sandbox" + strconv.FormatInt(userID(s.opts.SandboxUser), 10)
	sender["html_url"], sender["url"] = base+"/"+s.opts.SandboxUser, base+"/users/"+s.opts.SandboxUser
	m["installation"] = map[string]any{"id": in.ID, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u" + strconv.FormatInt(in.ID, 10)}
	delete(m, "organization")
}

// objectAt returns m[key] as an object, creating it when absent.
func objectAt(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}

// installationFor is the installation a webhook about the repository goes to: the
// lowest-numbered one covering it that is not suspended.
func (s *Sandbox) installationFor(fullName string) (Installation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.sortedInstallations(func(in Installation) bool { return !in.Suspended && in.covers(fullName) })
	if len(list) == 0 {
		return Installation{}, false
	}
	return list[0], true
}

// pushChange is one push the watcher found.
type pushChange struct {
	ref                      repoRef
	before, after, treeSHA   string
	at                       time.Time
	added, modified, removed []string
}

func (c pushChange) paths() string {
	var parts []string
	for _, l := range []struct {
		name  string
		paths []string
	}{{"added", c.added}, {"modified", c.modified}, {"removed", c.removed}} {
		if len(l.paths) > 0 {
			parts = append(parts, strings.Join(l.paths, " ")+" ("+l.name+")")
		}
	}
	return strings.Join(parts, ", ")
}

// pushPayload builds the push of c to the default branch from the real push payload.
func (s *Sandbox) pushPayload(c pushChange, in Installation) ([]byte, error) {
	m, err := s.template("push", c.ref)
	if err != nil {
		return nil, err
	}
	s.fill(m, c.ref, in)
	base, full := s.webBase(), c.ref.fullName()
	m["ref"] = "refs/heads/" + DefaultBranch
	m["before"], m["after"] = c.before, c.after
	m["created"], m["deleted"], m["forced"] = c.before == zeroSHA, false, false
	m["base_ref"] = nil
	m["compare"] = base + "/" + full + "/compare/" + c.before[:12] + "..." + c.after[:12]
	if c.before == zeroSHA {
		m["compare"] = base + "/" + full + "/commit/" + c.after[:12]
	}
	repo := objectAt(m, "repository")
	repo["master_branch"] = DefaultBranch
	repo["pushed_at"] = c.at.Unix()
	user := s.opts.SandboxUser
	m["pusher"] = map[string]any{"name": user, "email": user + "@users.noreply.github.com"}
	msg := "Update " + c.paths()
	person := map[string]any{"name": user, "email": user + "@users.noreply.github.com", "username": user}
	commit := map[string]any{
		"id": c.after, "tree_id": c.treeSHA, "distinct": true, "message": msg,
		"timestamp": c.at.UTC().Format(time.RFC3339),
		"url":       base + "/" + full + "/commit/" + c.after,
		"author":    person, "committer": person,
		"added": nonNil(c.added), "removed": nonNil(c.removed), "modified": nonNil(c.modified),
	}
	m["commits"] = []any{commit}
	m["head_commit"] = commit
	return json.Marshal(m)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// installationReposPayload builds installation_repositories (action added or removed)
// for the repositories refs.
func (s *Sandbox) installationReposPayload(action string, refs []repoRef, in Installation) ([]byte, error) {
	m, err := s.template("installation_repositories", refs[0])
	if err != nil {
		return nil, err
	}
	base := s.webBase()
	s.fill(m, refs[0], in)
	delete(m, "repository")
	m["action"] = action
	m["installation"] = s.installationJSON(base, in)
	m["repository_selection"] = in.selection()
	list := []map[string]any{}
	for _, r := range refs {
		id := s.repoID(r.fullName())
		list = append(list, map[string]any{
			"id": id, "node_id": "R_sandbox" + strconv.FormatInt(id, 10),
			"name": r.Name, "full_name": r.fullName(), "private": true,
		})
	}
	m["repositories_added"], m["repositories_removed"] = []map[string]any{}, []map[string]any{}
	m["repositories_"+action] = list
	m["requester"] = nil
	return json.Marshal(m)
}
