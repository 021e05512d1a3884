package ghapp

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

// sent is one request as it left the client, with GitHub's answer.
type sent struct {
	path, ifNoneMatch string
	status            int
	remaining         string
}

// wire records what the client sends and what comes back, below its transports.
type wire struct {
	mu   sync.Mutex
	reqs []sent
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.reqs = append(w.reqs, sent{r.URL.Path, r.Header.Get("If-None-Match"), resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining")})
	w.mu.Unlock()
	return resp, nil
}

// take returns the requests sent since the last take, token mints left out.
func (w *wire) take() []sent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []sent
	for _, s := range w.reqs {
		if !strings.HasSuffix(s.path, "/access_tokens") {
			out = append(out, s)
		}
	}
	w.reqs = nil
	return out
}

// TestConditionalRequests reads through the real client against the sandbox: a repeated
// read carries the stored ETag and is answered 304 (the same result, the rate limit
// untouched), a branch head read right after a push sees the push (stored answers are
// never served without asking), another installation's read of the same URL is never
// conditional on this one's answer, and a negative budget turns it all off.
func TestConditionalRequests(t *testing.T) {
	w := &wire{}
	e := newEnv(t, ghsandbox.Options{}, func(c *Config) { c.HTTPClient = &http.Client{Transport: w} })
	ctx := t.Context()
	e.write(t, "o", "r", "docs/plan.md", "- [ ] a\n")
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 7, Account: "o", AccountType: "Organization", Repos: []string{"o/r"}}); err != nil {
		t.Fatal(err)
	}

	// twice reads with read, then again, and wants the second answered 304 with the same
	// result and the same X-RateLimit-Remaining.
	twice := func(t *testing.T, read func() (string, error)) {
		t.Helper()
		first, err := read()
		if err != nil {
			t.Fatal(err)
		}
		one := w.take()
		second, err := read()
		if err != nil {
			t.Fatal(err)
		}
		two := w.take()
		if len(one) != 1 || one[0].status != 200 || one[0].ifNoneMatch != "" {
			t.Fatalf("first read sent %+v, want one unconditional request answered 200", one)
		}
		if len(two) != 1 || two[0].status != 304 || !strings.HasPrefix(two[0].ifNoneMatch, `W/"`) {
			t.Fatalf("repeated read sent %+v, want one request with If-None-Match answered 304", two)
		}
		if two[0].remaining != one[0].remaining {
			t.Errorf("X-RateLimit-Remaining after the 304 = %s, want %s (a 304 does not count)", two[0].remaining, one[0].remaining)
		}
		if second != first {
			t.Errorf("repeated read = %q, want %q", second, first)
		}
	}
	head := func(c *Client, inst int64) func() (string, error) {
		return func() (string, error) {
			sha, at, err := c.HeadCommit(ctx, inst, "o", "r", "main")
			return sha + " " + at.String(), err
		}
	}

	t.Run("head commit", func(t *testing.T) { twice(t, head(e.c, 1)) })
	t.Run("file", func(t *testing.T) {
		twice(t, func() (string, error) {
			b, err := e.c.FileContent(ctx, 1, "o", "r", "docs/plan.md", "main", 0)
			return string(b), err
		})
	})
	t.Run("listing", func(t *testing.T) {
		twice(t, func() (string, error) {
			files, err := e.c.ListFiles(ctx, 1, "o", "r", "main")
			return fmt.Sprint(files), err
		})
	})
	t.Run("installation", func(t *testing.T) {
		twice(t, func() (string, error) {
			in, err := e.c.Installation(ctx, 7)
			return fmt.Sprint(in), err
		})
	})
	t.Run("head after a push", func(t *testing.T) {
		before, err := head(e.c, 1)()
		if err != nil {
			t.Fatal(err)
		}
		w.take()
		e.write(t, "o", "r", "docs/plan.md", "- [x] a\n")
		sha, _, err := e.sb.Head("o", "r")
		if err != nil {
			t.Fatal(err)
		}
		after, err := head(e.c, 1)()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(after, sha+" ") || after == before {
			t.Errorf("HeadCommit after a push = %s, want %s (never a stored answer within max-age)", after, sha)
		}
		if got := w.take(); len(got) != 1 || got[0].status != 200 {
			t.Errorf("head read after a push sent %+v, want one request answered 200", got)
		}
	})
	t.Run("another installation", func(t *testing.T) {
		if _, err := head(e.c, 1)(); err != nil {
			t.Fatal(err)
		}
		w.take()
		if _, err := head(e.c, 7)(); err != nil {
			t.Fatal(err)
		}
		if got := w.take(); len(got) != 1 || got[0].ifNoneMatch != "" {
			t.Errorf("installation 7's first head read sent %+v, want it unconditional (installation 1's answer is not its own)", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		off := e.client(t, func(c *Config) { c.HTTPClient = &http.Client{Transport: w}; c.ConditionalCacheBytes = -1 })
		for range 2 {
			if _, err := head(off, 1)(); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range w.take() {
			if s.ifNoneMatch != "" {
				t.Errorf("request %+v carries If-None-Match with ConditionalCacheBytes -1", s)
			}
		}
	})
}

// TestETagCacheBounds checks the cache keeps at most its bytes, dropping the least
// recently used answer first, and never stores an answer over its entry share.
func TestETagCacheBounds(t *testing.T) {
	answer := func(body string) *http.Response {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: -1}
	}
	c := newETagCache(8 << 10) // entries up to 1 KiB
	body := strings.Repeat("x", 700)
	for i := range 20 {
		resp, err := c.keep(fmt.Sprint("k", i), `W/"1"`, answer(body))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != body {
			t.Fatalf("keep() body = %d bytes, want the answer's %d", len(b), len(body))
		}
		c.get("k0") // k0 used again and again: kept while older ones go

	}
	if c.used > c.max {
		t.Errorf("used = %d bytes, want at most %d", c.used, c.max)
	}
	if c.get("k0") == nil || c.get("k19") == nil || c.get("k1") != nil {
		t.Errorf("get(k0), get(k19), get(k1) = %v, %v, %v: want the recently used kept and the least recently used dropped",
			c.get("k0") != nil, c.get("k19") != nil, c.get("k1") != nil)
	}
	big := strings.Repeat("y", 2<<10)
	resp, err := c.keep("big", `W/"2"`, answer(big))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); !bytes.Equal(b, []byte(big)) {
		t.Errorf("keep(over the share) body = %d bytes, want all %d passed on", len(b), len(big))
	}
	if c.get("big") != nil {
		t.Error("an answer over the entry share was stored")
	}
}
