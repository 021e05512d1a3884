package devstack

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/webhook"
)

// Client calls the local HTTP API as a user and as GitHub does.
type Client struct {
	// BaseURL is the HTTP API's URL.
	BaseURL string
	// Token is the user's bearer token.
	Token string
	// WebhookSecret signs deliveries.
	WebhookSecret string
	HTTP          *http.Client
}

// APIError is an answer outside 2xx.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, strings.TrimSpace(e.Body))
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 40 * time.Second}
}

// Do sends a JSON request with the bearer token and decodes a 2xx JSON answer into out
// (when not nil). Other answers are an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(b)}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// Delivery is one webhook delivery as GitHub sends it.
type Delivery struct {
	Event string
	ID    string
	Body  []byte
}

// DeliveryResult is the HTTP API's answer to a delivery.
type DeliveryResult struct {
	Status int
	Body   string
}

// Deliver posts a delivery signed with the webhook secret, as GitHub does. With forge
// set, it signs with a wrong secret instead.
func (c *Client) Deliver(ctx context.Context, d Delivery, forge bool) (*DeliveryResult, error) {
	secret := c.WebhookSecret
	if forge {
		secret = "not-" + secret
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/webhooks/github", bytes.NewReader(d.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/devstack")
	req.Header.Set(webhook.HeaderEvent, d.Event)
	req.Header.Set(webhook.HeaderDelivery, d.ID)
	req.Header.Set(webhook.HeaderSignature256, webhook.Sign(secret, d.Body))
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("deliver %s: %w", d.Event, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return &DeliveryResult{Status: resp.StatusCode, Body: string(b)}, nil
}

// Push describes a push to build a delivery for.
type Push struct {
	Repo           string // owner/name
	Ref            string // refs/heads/main when empty
	Before, After  string
	At             time.Time
	Modified       []string
	Message        string
	InstallationID int64 // 1 (the sandbox's) when zero
	Pusher         string
	// RepositoryID is the repository's id as GitHub (the sandbox) gives it: the
	// processor finds projects by it. The template's when zero.
	RepositoryID int64
}

// PushDelivery builds a push delivery from a real push payload (template), with the
// repository, ref, commits and installation of p, and a new delivery id.
func PushDelivery(template []byte, p Push) (Delivery, error) {
	var m map[string]any
	if err := json.Unmarshal(template, &m); err != nil {
		return Delivery{}, fmt.Errorf("push payload template: %w", err)
	}
	owner, name, ok := strings.Cut(p.Repo, "/")
	if !ok {
		return Delivery{}, fmt.Errorf("repository %q is not owner/name", p.Repo)
	}
	if p.Ref == "" {
		p.Ref = "refs/heads/main"
	}
	if p.InstallationID == 0 {
		p.InstallationID = 1
	}
	if p.Pusher == "" {
		p.Pusher = "sandbox-user"
	}
	if p.Message == "" {
		p.Message = "Update " + strings.Join(p.Modified, ", ")
	}
	at := p.At.UTC().Format(time.RFC3339)
	m["ref"], m["before"], m["after"] = p.Ref, p.Before, p.After
	m["created"], m["deleted"], m["forced"] = false, false, false
	m["base_ref"] = nil
	repo := object(m, "repository")
	repo["name"], repo["full_name"] = name, p.Repo
	if p.RepositoryID != 0 {
		repo["id"] = p.RepositoryID
	}
	repo["default_branch"], repo["master_branch"] = "main", "main"
	repo["private"] = false
	repo["html_url"] = "https://github.com/" + p.Repo
	ro := object(repo, "owner")
	ro["login"], ro["name"] = owner, owner
	inst := object(m, "installation")
	inst["id"] = p.InstallationID
	object(m, "pusher")["name"] = p.Pusher
	object(m, "sender")["login"] = p.Pusher
	commit := map[string]any{}
	if cs, ok := m["commits"].([]any); ok && len(cs) > 0 {
		if c0, ok := cs[0].(map[string]any); ok {
			commit = c0
		}
	}
	commit["id"], commit["tree_id"] = p.After, p.After
	commit["message"], commit["timestamp"] = p.Message, at
	commit["distinct"] = true
	commit["added"], commit["removed"] = []string{}, []string{}
	commit["modified"] = p.Modified
	commit["url"] = "https://github.com/" + p.Repo + "/commit/" + p.After
	m["commits"] = []any{commit}
	m["head_commit"] = commit
	m["compare"] = "https://github.com/" + p.Repo + "/compare/" + short(p.Before) + "..." + short(p.After)
	body, err := json.Marshal(m)
	if err != nil {
		return Delivery{}, fmt.Errorf("encode push payload: %w", err)
	}
	return Delivery{Event: "push", ID: lambdarie.NewUUID(), Body: body}, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// object returns m[key] as an object, creating it when absent or not an object.
func object(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}

// ErrNoPushEvent means events/ingest holds no API event of a push delivery.
var ErrNoPushEvent = errors.New("no push delivery event in events/ingest")

// PushTemplate returns the GitHub payload of the first API Gateway event under
// root/events/ingest whose X-GitHub-Event is push: a real push body to build
// deliveries from.
func PushTemplate(root string) ([]byte, error) {
	files, _ := filepath.Glob(filepath.Join(root, "events", "ingest", "*.json"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(b, &ev) != nil || ev.Body == "" {
			continue
		}
		if !strings.EqualFold(headerValue(ev.Headers, webhook.HeaderEvent), "push") {
			continue
		}
		body := []byte(ev.Body)
		if ev.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
				continue
			}
		}
		if ct := headerValue(ev.Headers, "content-type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			v, err := url.ParseQuery(string(body))
			if err != nil {
				continue
			}
			body = []byte(v.Get("payload"))
		}
		if json.Valid(body) {
			return body, nil
		}
	}
	return nil, ErrNoPushEvent
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
