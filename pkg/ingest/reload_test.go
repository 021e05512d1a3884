package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestReloadSecret: a container whose secret could not be read at cold start refuses
// deliveries (fail closed), asks for the secret again at most once per ReloadEvery, and
// accepts deliveries once the secret is readable.
func TestReloadSecret(t *testing.T) {
	push := pushBody(t)
	var (
		mu    sync.Mutex
		now   = fixedNow
		calls int
		value string
		err   = errors.New("secrets manager unavailable")
	)
	r := newRig(t, Config{
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Reload: func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return value, err
		},
		ReloadEvery: time.Minute,
	})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	steps := []struct {
		name       string
		before     func()
		wantStatus int
		wantCalls  int
	}{
		{"reload fails: refused", nil, 401, 1},
		{"within the minute: no new reload", func() { advance(30 * time.Second) }, 401, 1},
		{"secret readable but the minute not over", func() { mu.Lock(); value, err = "s3cret", nil; mu.Unlock() }, 401, 1},
		{"after the minute: reloaded and accepted", func() { advance(31 * time.Second) }, 202, 2},
		{"loaded: no more reloads", func() { advance(time.Hour) }, 202, 2},
	}
	for i, st := range steps {
		if st.before != nil {
			st.before()
		}
		resp := r.handle(t, signed("push", fmt.Sprintf("d-%d", i), push, "s3cret"))
		mu.Lock()
		got := calls
		mu.Unlock()
		if resp.StatusCode != st.wantStatus || got != st.wantCalls {
			t.Errorf("%s: Handle() = %d with %d reloads, want %d with %d", st.name, resp.StatusCode, got, st.wantStatus, st.wantCalls)
		}
	}
	// A wrong signature is still refused once the secret is loaded.
	if resp := r.handle(t, signed("push", "d-wrong", push, "other")); resp.StatusCode != 401 {
		t.Errorf("Handle(wrong secret) = %d, want 401", resp.StatusCode)
	}
}
