package config

import (
	"cmp"
	"time"
)

// PositiveOr returns v when it is above zero and def otherwise: the rule by which the
// Config structs of the packages give a size, count or duration left at zero (or set
// below it) its default.
func PositiveOr[T cmp.Ordered](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}

// NowOr returns now, or time.Now when now is nil: the rule by which the Config structs
// of the packages give a clock left unset (tests set one) its default.
func NowOr(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}
