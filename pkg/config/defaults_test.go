package config

import (
	"testing"
	"time"
)

func TestPositiveOr(t *testing.T) {
	tests := []struct {
		v, def, want time.Duration
	}{
		{0, time.Minute, time.Minute},
		{-time.Second, time.Minute, time.Minute},
		{time.Second, time.Minute, time.Second},
	}
	for _, tt := range tests {
		if got := PositiveOr(tt.v, tt.def); got != tt.want {
			t.Errorf("PositiveOr(%v, %v) = %v, want %v", tt.v, tt.def, got, tt.want)
		}
	}
	if got := PositiveOr(0, 7); got != 7 {
		t.Errorf("PositiveOr(0, 7) = %d, want 7", got)
	}
}

func TestNowOr(t *testing.T) {
	fixed := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if got := NowOr(func() time.Time { return fixed })(); !got.Equal(fixed) {
		t.Errorf("NowOr(fixed)() = %v, want %v", got, fixed)
	}
	before := time.Now()
	if got := NowOr(nil)(); got.Before(before) {
		t.Errorf("NowOr(nil)() = %v, want the wall clock (not before %v)", got, before)
	}
}
