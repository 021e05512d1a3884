package health

import (
	"sync"
	"time"
)

// ttlCache keeps one value per key for ttl from the time the value is of; a ttl of 0 or
// less keeps nothing. It is safe for concurrent use.
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[K]timed[V]
}

type timed[V any] struct {
	v  V
	at time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, m: map[K]timed[V]{}}
}

// get returns k's value if it is of less than ttl before now (and not of after now: a
// clock set back does not keep a value forever).
func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		return zero, false
	}
	return e.v, true
}

// put keeps v, of time at, as k's value.
func (c *ttlCache[K, V]) put(k K, v V, at time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = timed[V]{v: v, at: at}
}
