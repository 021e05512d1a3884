package testkit

import (
	"fmt"
	"sync/atomic"
)

var seq atomic.Int64

// Seq returns a number unique within the test binary: tests that share tables or queues
// keep apart by the ids they make from it.
func Seq() int64 { return seq.Add(1) }

// Unique returns prefix-N, with N from Seq.
func Unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, Seq()) }
