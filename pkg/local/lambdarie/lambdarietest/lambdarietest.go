// Package lambdarietest fakes a function for tests of what invokes one through
// lambdarie's Invoke (the gateway, the poller), as net/http/httptest does for servers.
package lambdarietest

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
)

// Function decodes each payload as the event E, records it and answers with Answer;
// it is safe for concurrent invocations.
type Function[E any] struct {
	// Answer answers one event; nil answers every event with the JSON null.
	Answer func(E) (*lambdarie.Result, error)

	mu     sync.Mutex
	events []E
}

// Invoke records the event in payload and answers it; a payload that is not an E is
// an error.
func (f *Function[E]) Invoke(_ context.Context, payload []byte) (*lambdarie.Result, error) {
	var ev E
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
	if f.Answer == nil {
		return &lambdarie.Result{Payload: []byte("null")}, nil
	}
	return f.Answer(ev)
}

// Events returns the events invoked so far, in order.
func (f *Function[E]) Events() []E {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]E(nil), f.events...)
}
