package ghapp

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Defaults of the conditional request cache (README.md, "Conditional requests").
const (
	// DefaultConditionalCacheBytes bounds the answers one Client keeps for conditional
	// requests: a few hundred head commits, listings and files of a busy container.
	DefaultConditionalCacheBytes = 16 << 20
	// maxConditionalEntryShare: one answer takes at most 1/8 of the budget (2 MiB by
	// default: a 1 MB file's contents answer fits, a 7 MB tree listing does not), so that
	// one huge repository cannot flush everyone else's answers.
	maxConditionalEntryShare = 8
)

// conditional makes GET requests conditional: an answer GitHub gave with an ETag is kept
// in memory, the next identical request carries If-None-Match, and GitHub's 304 (which
// does not count against the rate limit) is answered from memory as the 200 it
// confirms, so that go-github above sees an ordinary answer.
//
// Written here rather than taken from an HTTP cache library (gregjones/httpcache,
// archived, and its forks: "mostly RFC-compliant" private caches): a standards cache
// obeys GitHub's "Cache-Control: private, max-age=60" and serves a stored answer
// unasked for 60 s, so a branch head read just after a push would return the commit
// before it and the push's snapshot would silently miss it; those caches key by URL
// (plus Vary), where the key must be the installation (its token changes every hour);
// and their memory store is an unbounded map, or bounded in entries, not bytes. This
// transport never answers without asking GitHub (every stored answer is revalidated:
// GitHub decides, with the caller's current token, whether it still holds, so lost
// access is a 404, not a stored 200), keys by scope (installation or App), and bounds
// the bytes kept. The cache lives in the container's memory only: reading it from
// DynamoDB would cost a request to save one.
type conditional struct {
	next  http.RoundTripper
	cache *etagCache // nil: pass everything through
	scope string     // whose answers: "installation <id>" or "app"
}

func (t *conditional) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.cache == nil || req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" || req.Header.Get("Range") != "" {
		return t.next.RoundTrip(req)
	}
	// GitHub's answers vary by Accept and API version (and by Authorization, which the
	// scope stands for: the identity, not the hourly token).
	key := t.scope + "\x00" + req.Header.Get("Accept") + "\x00" + req.Header.Get("X-GitHub-Api-Version") + "\x00" + req.URL.String()
	stored := t.cache.get(key)
	if stored != nil {
		req = req.Clone(req.Context()) // a RoundTripper must not change its caller's request
		req.Header.Set("If-None-Match", stored.etag)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if stored != nil && resp.StatusCode == http.StatusNotModified {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		return stored.answer(req, resp), nil
	}
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
		if stored != nil {
			t.cache.remove(key)
		}
		return resp, nil
	}
	return t.cache.keep(key, etag, resp)
}

// etagEntry is one answer kept for revalidation.
type etagEntry struct {
	key    string
	etag   string
	header http.Header
	body   []byte
	size   int64
}

// answer is the 200 a 304 confirmed: the stored answer with the 304's headers (rate
// limit counts, date, ETag) over the stored ones, as RFC 9111 (4.3.4) updates them.
func (e *etagEntry) answer(req *http.Request, notModified *http.Response) *http.Response {
	h := e.header.Clone()
	for k, vs := range notModified.Header {
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(len(e.body)))
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK,
		Proto: notModified.Proto, ProtoMajor: notModified.ProtoMajor, ProtoMinor: notModified.ProtoMinor,
		Header: h, Body: io.NopCloser(bytes.NewReader(e.body)), ContentLength: int64(len(e.body)),
		Request: req, TLS: notModified.TLS,
	}
}

// etagCache is a least-recently-used set of answers bounded in bytes. Written here:
// the LRU libraries at hand (hashicorp/golang-lru) bound the number of entries, and
// answers range from 1 KB to megabytes.
type etagCache struct {
	mu       sync.Mutex
	max      int64 // bytes
	maxEntry int64
	used     int64
	order    *list.List // of *etagEntry, most recently used first
	items    map[string]*list.Element
}

// newETagCache returns a cache of maxBytes, or nil (no cache) when maxBytes <= 0.
func newETagCache(maxBytes int64) *etagCache {
	if maxBytes <= 0 {
		return nil
	}
	return &etagCache{max: maxBytes, maxEntry: maxBytes / maxConditionalEntryShare, order: list.New(), items: map[string]*list.Element{}}
}

func (c *etagCache) get(key string) *etagEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*etagEntry)
}

func (c *etagCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.drop(el)
	}
}

func (c *etagCache) drop(el *list.Element) {
	e := c.order.Remove(el).(*etagEntry)
	delete(c.items, e.key)
	c.used -= e.size
}

// keep reads resp's body (up to the entry limit) and stores it under key, returning a
// response with the same body for the caller. A body over the limit is passed on
// unread past the limit and not stored.
func (c *etagCache) keep(key, etag string, resp *http.Response) (*http.Response, error) {
	if resp.ContentLength > c.maxEntry {
		c.remove(key)
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxEntry+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if int64(len(body)) > c.maxEntry {
		c.remove(key)
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	e := &etagEntry{key: key, etag: etag, header: resp.Header.Clone(), body: body}
	e.size = int64(len(key)+len(etag)+len(body)) + headerSize(e.header) + 128
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.drop(el)
	}
	c.items[key] = c.order.PushFront(e)
	c.used += e.size
	for c.used > c.max {
		c.drop(c.order.Back())
	}
	return resp, nil
}

// headerSize estimates the bytes a header holds.
func headerSize(h http.Header) int64 {
	n := 0
	for k, vs := range h {
		n += len(k)
		for _, v := range vs {
			n += len(v) + 16
		}
	}
	return int64(n)
}
