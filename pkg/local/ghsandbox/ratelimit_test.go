package ghsandbox

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// rateHeaders are the headers GitHub puts on every REST answer.
var rateHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset", "X-RateLimit-Resource"}

func TestRateHeadersOnEveryAnswer(t *testing.T) {
	c := newClock()
	s, base := NewServer(t, Options{Now: c.Now})
	if err := s.WriteFile("o", "r", "f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	tok := "token " + mint(t, s, base, "1")
	s.FailNext("GET", "/repos/o/r/contents/f", 1, 502)
	s.InjectFault(Fault{Method: "GET", Path: "/repos/o/r", Status: 403, Message: "Resource not accessible by integration"})
	tests := []struct {
		name       string
		path, auth string
		status     int
		limit      string
	}{
		{"injected 502", "/repos/o/r/contents/f", tok, 502, "5000"},
		{"injected 403", "/repos/o/r", tok, 403, "5000"},
		{"200", "/repos/o/r/contents/f", tok, 200, "5000"},
		{"404", "/repos/o/missing", tok, 404, "5000"},
		{"App JWT", "/app", goodJWT(t, s, c.Now()), 200, "5000"},
		{"no credentials", "/repos/o/r", "", 401, "60"},
	}
	lastUsed := map[string]int{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "GET", base+tt.path, tt.auth, nil)
			if a.status != tt.status {
				t.Fatalf("GET %s = %d, want %d", tt.path, a.status, tt.status)
			}
			for _, h := range rateHeaders {
				if a.header.Get(h) == "" {
					t.Errorf("GET %s header %s missing (%v)", tt.path, h, a.header)
				}
			}
			if got := a.header.Get("X-RateLimit-Limit"); got != tt.limit {
				t.Errorf("X-RateLimit-Limit = %s, want %s", got, tt.limit)
			}
			used, _ := strconv.Atoi(a.header.Get("X-RateLimit-Used"))
			remaining, _ := strconv.Atoi(a.header.Get("X-RateLimit-Remaining"))
			limit, _ := strconv.Atoi(tt.limit)
			if used+remaining != limit || used <= lastUsed[tt.auth] {
				t.Errorf("used %d + remaining %d, want the limit %d and used above %d", used, remaining, limit, lastUsed[tt.auth])
			}
			lastUsed[tt.auth] = used
			reset, _ := strconv.ParseInt(a.header.Get("X-RateLimit-Reset"), 10, 64)
			if d := time.Unix(reset, 0).Sub(c.Now()); d <= 0 || d > time.Hour {
				t.Errorf("X-RateLimit-Reset %s ahead, want within the hour", d)
			}
		})
	}
}

func TestSetRateLimit(t *testing.T) {
	tests := []struct {
		name       string
		rl         RateLimit
		status     int
		retryAfter string
		remaining0 bool
	}{
		{"primary", RateLimit{Shape: PrimaryLimit}, 403, "", true},
		{"secondary with Retry-After", RateLimit{Shape: SecondaryRetryAfter}, 403, "1200", false},
		{"secondary with a set Retry-After", RateLimit{Shape: SecondaryRetryAfter, RetryAfter: time.Minute}, 403, "60", false},
		{"secondary 403 without Retry-After", RateLimit{Shape: SecondaryForbidden}, 403, "", false},
		{"secondary 429", RateLimit{Shape: SecondaryTooMany}, 429, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s, base := NewServer(t, Options{Now: c.Now})
			if err := s.WriteFile("o", "r", "f", []byte("x")); err != nil {
				t.Fatal(err)
			}
			install(t, s, Installation{ID: 2, Account: "o", Repos: []string{"o/r"}})
			tok1, tok2 := "token "+mint(t, s, base, "1"), "token "+mint(t, s, base, "2")
			until := c.Now().Add(20 * time.Minute)
			tt.rl.Until = until
			s.SetRateLimit(1, tt.rl)

			a := do(t, "GET", base+"/repos/o/r/contents/f", tok1, nil)
			if a.status != tt.status || a.header.Get("Retry-After") != tt.retryAfter {
				t.Fatalf("limited call = %d Retry-After %q, want %d %q", a.status, a.header.Get("Retry-After"), tt.status, tt.retryAfter)
			}
			for _, h := range rateHeaders {
				if a.header.Get(h) == "" {
					t.Errorf("header %s missing", h)
				}
			}
			remaining := a.header.Get("X-RateLimit-Remaining")
			reset := a.header.Get("X-RateLimit-Reset")
			if tt.remaining0 {
				if remaining != "0" || reset != strconv.FormatInt(until.Unix(), 10) {
					t.Errorf("primary limit remaining %s reset %s, want 0 and %d", remaining, reset, until.Unix())
				}
			} else if remaining == "0" || reset == strconv.FormatInt(until.Unix(), 10) {
				t.Errorf("secondary limit remaining %s reset %s, want requests left and the hourly reset", remaining, reset)
			}
			if msg := a.message(t); msg == "" {
				t.Errorf("limited call has no message")
			}
			// Another installation is not limited.
			if a := do(t, "GET", base+"/repos/o/r/contents/f", tok2, nil); a.status != http.StatusOK {
				t.Errorf("installation 2 call = %d, want 200", a.status)
			}
			// The limit ends at Until.
			c.Advance(20 * time.Minute)
			if a := do(t, "GET", base+"/repos/o/r/contents/f", tok1, nil); a.status != http.StatusOK {
				t.Errorf("call after the limit = %d, want 200", a.status)
			}
		})
	}
}

func TestSecondaryRateLimitNextWithoutRetryAfter(t *testing.T) {
	s, base := NewServer(t, Options{})
	tok := "token " + mint(t, s, base, "1")
	s.SecondaryRateLimitNext("GET", "/repos/o/r", 1, 403, 0)
	a := do(t, "GET", base+"/repos/o/r", tok, nil)
	if a.status != 403 || a.header.Get("Retry-After") != "" || a.header.Get("X-RateLimit-Remaining") == "0" || a.header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("secondary limit = %d %v, want 403 without Retry-After, with requests left and a reset", a.status, a.header)
	}
}
