package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxMessageBytes is the SQS message size the envelope is built for: 256 KiB, the SQS
// limit until August 2025. SQS now takes 1 MiB, but a queue created earlier (or with
// MaximumMessageSize set) still refuses more than 256 KiB, ten 256 KiB messages stay
// well inside Lambda's 6 MB invocation payload for a batch of ten, and a whole envelope
// still fits in one 400 KB DynamoDB item.
const MaxMessageBytes = 256 * 1024

// MaxBodyBytes is the budget for the envelope JSON: MaxMessageBytes less 1 KiB for the
// message attributes, which SQS counts in the message size (names, types and values of
// AttrDeliveryID and AttrEventType take under 300 bytes).
const MaxBodyBytes = MaxMessageBytes - 1024

// PushCommitCap is the most commits GitHub lists in a push payload. A push listing this
// many may have had more, and GitHub says nothing about it.
const PushCommitCap = 2048

// MaxTitleBytes is what a title or milestone is cut to when an envelope does not fit even
// without its lists: 1,024 characters of up to four bytes, GitHub's longest title (its
// API allows 256). A pull request or issue envelope is a few KiB, so only a payload
// GitHub would never send is cut.
const MaxTitleBytes = 4096

// Build errors.
var (
	// ErrNotObject means the payload is not a JSON object.
	ErrNotObject = errors.New("payload is not a JSON object")
	// ErrTooLarge means the envelope does not fit the budget even without its lists and
	// with its titles cut.
	ErrTooLarge = errors.New("envelope does not fit one message")
)

// Build decodes a delivery's payload into its envelope. The payload must be strict JSON
// (valid UTF-8, no duplicate object names, nesting within the JSON v2 jsontext decoder's
// default limit) and an object; the fields the envelope carries must have the JSON types
// GitHub gives them (or be null). It reads the payload once and copies only what the
// envelope keeps (for a push, the paths of each commit). Timestamps that are missing or
// not RFC 3339 are left out rather than refusing a delivery GitHub signed.
func Build(eventType, deliveryID string, payload []byte, receivedAt time.Time) (*Envelope, error) {
	if t := bytes.TrimLeft(payload, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, ErrNotObject
	}
	e := &Envelope{Version: Version, DeliveryID: deliveryID, EventType: eventType, ReceivedAt: receivedAt.UTC()}
	err := decodeFast(e, eventType, payload)
	if errors.Is(err, errFolded) {
		// Rare and never from GitHub: encoding/json's case-insensitive matching decides.
		e = &Envelope{Version: Version, DeliveryID: deliveryID, EventType: eventType, ReceivedAt: receivedAt.UTC()}
		err = buildStrictStd(e, eventType, payload)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", eventType, err)
	}
	return e, nil
}

// buildStrictStd checks that payload is strict JSON, then decodes it with encoding/json
// into the payload shapes (buildStd): the reference that decodeFast matches.
func buildStrictStd(e *Envelope, eventType string, payload []byte) error {
	if !jsontext.Value(payload).IsValid() {
		return errNotStrict
	}
	return buildStd(e, eventType, payload)
}

// errNotStrict is a payload that is not strict JSON.
var errNotStrict = errors.New("payload is not strict JSON (invalid syntax or UTF-8, a duplicate name, or too deep)")

// buildStd decodes payload with encoding/json into the payload shapes below.
func buildStd(e *Envelope, eventType string, payload []byte) error {
	switch eventType {
	case "push":
		return buildPush(e, payload)
	case "pull_request":
		return buildPullRequest(e, payload)
	case "issues":
		return buildIssue(e, payload)
	case "installation":
		return buildInstallation(e, payload)
	case "installation_repositories":
		return buildInstallationRepositories(e, payload)
	default:
		var p commonJSON
		err := json.Unmarshal(payload, &p)
		if err == nil {
			p.fill(e)
		}
		return err
	}
}

// Marshal returns the envelope as JSON of at most max bytes (MaxBodyBytes for SQS). When
// it would not fit, it drops the push's path list (setting PathsIncomplete) and the
// installation's repository lists (setting RepositoriesIncomplete), then cuts titles to
// MaxTitleBytes; it changes e accordingly. It fails with ErrTooLarge when even that is
// not enough.
func (e *Envelope) Marshal(max int) ([]byte, error) {
	b, err := e.marshal()
	if err != nil || len(b) <= max {
		return b, err
	}
	for _, shrink := range []func() bool{e.dropLists, e.cutTitles} {
		if !shrink() {
			continue
		}
		if b, err = e.marshal(); err != nil || len(b) <= max {
			return b, err
		}
	}
	return nil, fmt.Errorf("%s delivery %s: %d bytes, budget %d: %w", e.EventType, e.DeliveryID, len(b), max, ErrTooLarge)
}

func (e *Envelope) marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Paths and titles stay readable: nothing here is ever embedded in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return escapeNonCharacters(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// escapeNonCharacters writes U+FFFE and U+FFFF, which encoding/json leaves as they are,
// as JSON escapes: SQS refuses a message body containing them.
func escapeNonCharacters(b []byte) []byte {
	if !bytes.Contains(b, []byte("\xef\xbf\xbe")) && !bytes.Contains(b, []byte("\xef\xbf\xbf")) {
		return b
	}
	b = bytes.ReplaceAll(b, []byte("\xef\xbf\xbe"), []byte(`\ufffe`))
	return bytes.ReplaceAll(b, []byte("\xef\xbf\xbf"), []byte(`\uffff`))
}

func (e *Envelope) dropLists() bool {
	changed := false
	if p := e.Push; p != nil && p.Paths != nil {
		p.Paths, p.PathsIncomplete, changed = nil, true, true
	}
	if in := e.Installation; in != nil && (in.Repositories != nil || in.RepositoriesRemoved != nil) {
		in.Repositories, in.RepositoriesRemoved, in.RepositoriesIncomplete, changed = nil, nil, true, true
	}
	return changed
}

func (e *Envelope) cutTitles() bool {
	changed := false
	cut := func(s *string) {
		if len(*s) > MaxTitleBytes {
			*s, changed = truncate(*s, MaxTitleBytes), true
		}
	}
	if pr := e.PullRequest; pr != nil {
		cut(&pr.Title)
		cut(&pr.Milestone)
	}
	if is := e.Issue; is != nil {
		cut(&is.Title)
		cut(&is.Milestone)
	}
	return changed
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ---- payload shapes for encoding/json (buildStd): only the fields the envelope needs.

type idJSON struct {
	ID int64 `json:"id"`
}

type loginJSON struct {
	Login string `json:"login"`
}

type repoJSON struct {
	ID            int64  `json:"id"`
	FullName      string `json:"full_name"`
	DefaultBranch string `json:"default_branch"`
	Private       bool   `json:"private"`
}

type nameJSON struct {
	Name string `json:"name"`
}

type titleJSON struct {
	Title string `json:"title"`
}

type commonJSON struct {
	Action       string     `json:"action"`
	Installation *idJSON    `json:"installation"`
	Repository   *repoJSON  `json:"repository"`
	Sender       *loginJSON `json:"sender"`
}

func (p *commonJSON) fill(e *Envelope) {
	e.Action = p.Action
	if p.Installation != nil {
		e.InstallationID = p.Installation.ID
	}
	if r := p.Repository; r != nil {
		e.Repository = &Repo{ID: r.ID, FullName: r.FullName, DefaultBranch: r.DefaultBranch, Private: r.Private}
	}
	if p.Sender != nil {
		e.Sender = p.Sender.Login
	}
}

// stamp is a timestamp that decodes to nothing, rather than failing, when the value is
// null, not a string, not RFC 3339 or outside the years JSON encoding allows.
type stamp struct {
	t *time.Time
}

func (s *stamp) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' {
		return nil
	}
	var str string
	if bytes.IndexByte(b, '\\') < 0 {
		str = string(b[1 : len(b)-1])
	} else if json.Unmarshal(b, &str) != nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339, str)
	if err != nil {
		return nil
	}
	if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
		return nil
	}
	s.t = &t
	return nil
}

func labelNames(ls []nameJSON) []string {
	if len(ls) == 0 {
		return nil
	}
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func milestoneTitle(m *titleJSON) string {
	if m == nil {
		return ""
	}
	return m.Title
}

// ---- push

type commitJSON struct {
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

type pushJSON struct {
	commonJSON
	Ref        string       `json:"ref"`
	Before     string       `json:"before"`
	After      string       `json:"after"`
	Created    bool         `json:"created"`
	Deleted    bool         `json:"deleted"`
	Forced     bool         `json:"forced"`
	Commits    []commitJSON `json:"commits"`
	HeadCommit *struct {
		Timestamp stamp `json:"timestamp"`
	} `json:"head_commit"`
}

func buildPush(e *Envelope, payload []byte) error {
	var p pushJSON
	if err := json.Unmarshal(payload, &p); err != nil {
		return err
	}
	p.fill(e)
	e.Push = &Push{
		Ref: p.Ref, Before: p.Before, After: p.After,
		Created: p.Created, Deleted: p.Deleted, Forced: p.Forced,
		Paths:           changedPaths(p.Commits),
		PathsIncomplete: pathsIncomplete(len(p.Commits), p.Deleted, p.Forced, p.Before, p.After),
	}
	if p.HeadCommit != nil {
		e.Push.HeadCommitAt = p.HeadCommit.Timestamp.t
	}
	return nil
}

// changedPaths is the sorted, de-duplicated union of the paths the commits add, modify
// or remove.
func changedPaths(commits []commitJSON) []string {
	n := 0
	for _, c := range commits {
		n += len(c.Added) + len(c.Modified) + len(c.Removed)
	}
	if n == 0 {
		return nil
	}
	paths := make([]string, 0, n)
	for _, c := range commits {
		for _, list := range [...][]string{c.Added, c.Modified, c.Removed} {
			for _, p := range list {
				if p != "" {
					paths = append(paths, p)
				}
			}
		}
	}
	return sortedPaths(paths)
}

// sortedPaths sorts and de-duplicates paths in place; none is nil.
func sortedPaths(paths []string) []string {
	if len(paths) == 0 {
		return nil
	}
	slices.Sort(paths)
	return slices.Clip(slices.Compact(paths))
}

// pathsIncomplete reports whether the commits listed may not account for every path the
// push changed, so that the processor must not conclude from Paths that a file is
// untouched:
//   - GitHub lists at most PushCommitCap commits and does not say when it cut the list;
//   - a forced push can drop commits, whose changes are undone but listed nowhere;
//   - a ref that moved (before != after) without any commit listed — a branch or tag
//     created at, or reset to, an existing commit — changed content the list cannot show.
//
// A deleted ref changes no content, so its empty list is complete.
func pathsIncomplete(commits int, deleted, forced bool, before, after string) bool {
	if commits >= PushCommitCap {
		return true
	}
	if deleted {
		return false
	}
	return forced || (commits == 0 && before != after)
}

// ---- pull_request

type refJSON struct {
	Ref string `json:"ref"`
}

type pullRequestJSON struct {
	commonJSON
	PullRequest *struct {
		Number    int        `json:"number"`
		State     string     `json:"state"`
		Draft     bool       `json:"draft"`
		Merged    bool       `json:"merged"`
		Title     string     `json:"title"`
		Labels    []nameJSON `json:"labels"`
		Milestone *titleJSON `json:"milestone"`
		User      *loginJSON `json:"user"`
		Head      *refJSON   `json:"head"`
		Base      *refJSON   `json:"base"`
		CreatedAt stamp      `json:"created_at"`
		UpdatedAt stamp      `json:"updated_at"`
		ClosedAt  stamp      `json:"closed_at"`
		MergedAt  stamp      `json:"merged_at"`
	} `json:"pull_request"`
}

func buildPullRequest(e *Envelope, payload []byte) error {
	var p pullRequestJSON
	if err := json.Unmarshal(payload, &p); err != nil {
		return err
	}
	p.fill(e)
	pr := p.PullRequest
	if pr == nil {
		return nil
	}
	e.PullRequest = &PullRequest{
		Number: pr.Number, State: pr.State, Draft: pr.Draft, Merged: pr.Merged, Title: pr.Title,
		Labels: labelNames(pr.Labels), Milestone: milestoneTitle(pr.Milestone),
		CreatedAt: pr.CreatedAt.t, UpdatedAt: pr.UpdatedAt.t, ClosedAt: pr.ClosedAt.t, MergedAt: pr.MergedAt.t,
	}
	if pr.User != nil {
		e.PullRequest.Author = pr.User.Login
	}
	if pr.Head != nil {
		e.PullRequest.HeadRef = pr.Head.Ref
	}
	if pr.Base != nil {
		e.PullRequest.BaseRef = pr.Base.Ref
	}
	return nil
}

// ---- issues

type issueJSON struct {
	commonJSON
	Issue *struct {
		Number    int        `json:"number"`
		State     string     `json:"state"`
		Title     string     `json:"title"`
		Labels    []nameJSON `json:"labels"`
		Milestone *titleJSON `json:"milestone"`
		CreatedAt stamp      `json:"created_at"`
		UpdatedAt stamp      `json:"updated_at"`
		ClosedAt  stamp      `json:"closed_at"`
	} `json:"issue"`
}

func buildIssue(e *Envelope, payload []byte) error {
	var p issueJSON
	if err := json.Unmarshal(payload, &p); err != nil {
		return err
	}
	p.fill(e)
	is := p.Issue
	if is == nil {
		return nil
	}
	e.Issue = &Issue{
		Number: is.Number, State: is.State, Title: is.Title,
		Labels: labelNames(is.Labels), Milestone: milestoneTitle(is.Milestone),
		CreatedAt: is.CreatedAt.t, UpdatedAt: is.UpdatedAt.t, ClosedAt: is.ClosedAt.t,
	}
	return nil
}

// ---- installation and installation_repositories

type installationJSON struct {
	ID                  int64        `json:"id"`
	Account             *accountJSON `json:"account"`
	RepositorySelection string       `json:"repository_selection"`
	SuspendedAt         stamp        `json:"suspended_at"`
}

type accountJSON struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
	Type  string `json:"type"`
}

type fullNameJSON struct {
	FullName string `json:"full_name"`
}

func (in *installationJSON) envelope() *Installation {
	out := &Installation{ID: in.ID, RepositorySelection: in.RepositorySelection, SuspendedAt: in.SuspendedAt.t}
	if a := in.Account; a != nil {
		out.AccountID, out.AccountLogin, out.AccountType = a.ID, a.Login, a.Type
	}
	return out
}

func fullNames(rs []fullNameJSON) []string {
	if len(rs) == 0 {
		return nil
	}
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.FullName)
	}
	return out
}

type installationEventJSON struct {
	commonJSON
	// Installation shadows commonJSON's: here the payload has the whole installation.
	Installation *installationJSON `json:"installation"`
	Repositories []fullNameJSON    `json:"repositories"`
}

func buildInstallation(e *Envelope, payload []byte) error {
	var p installationEventJSON
	if err := json.Unmarshal(payload, &p); err != nil {
		return err
	}
	p.fill(e)
	if p.Installation == nil {
		return nil
	}
	e.InstallationID = p.Installation.ID
	e.Installation = p.Installation.envelope()
	// Only installation.created grants repositories; other actions list what the
	// installation had, which the processor reads from its own records.
	if p.Action == "created" {
		e.Installation.Repositories = fullNames(p.Repositories)
	}
	return nil
}

type installationRepositoriesJSON struct {
	commonJSON
	Installation        *installationJSON `json:"installation"`
	RepositorySelection string            `json:"repository_selection"`
	Added               []fullNameJSON    `json:"repositories_added"`
	Removed             []fullNameJSON    `json:"repositories_removed"`
}

func buildInstallationRepositories(e *Envelope, payload []byte) error {
	var p installationRepositoriesJSON
	if err := json.Unmarshal(payload, &p); err != nil {
		return err
	}
	p.fill(e)
	if p.Installation == nil {
		return nil
	}
	e.InstallationID = p.Installation.ID
	e.Installation = p.Installation.envelope()
	if p.RepositorySelection != "" {
		e.Installation.RepositorySelection = p.RepositorySelection
	}
	e.Installation.Repositories = fullNames(p.Added)
	e.Installation.RepositoriesRemoved = fullNames(p.Removed)
	return nil
}
