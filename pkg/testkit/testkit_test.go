package testkit

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestPayloadsAreAllThere(t *testing.T) {
	all := Payloads(t, "")
	events := map[string]bool{}
	for _, p := range all {
		events[p.Event] = true
		if !json.Valid(p.Body) {
			t.Errorf("payload %s is not JSON", p.Path)
		}
	}
	if len(all) != PayloadCount || len(events) != 60 {
		t.Errorf("Payloads(\"\") = %d payloads of %d events, want %d of 60", len(all), len(events), PayloadCount)
	}
	push := Payloads(t, "push")
	for _, p := range push {
		if p.Event != "push" {
			t.Errorf("Payloads(push) holds %s of event %s", p.Path, p.Event)
		}
	}
	if len(push) == 0 || len(push) == len(all) {
		t.Errorf("Payloads(push) = %d payloads, want some but not all %d", len(push), len(all))
	}
}

func TestPayloadObject(t *testing.T) {
	o := PayloadObject(t, "push/with-new-branch.payload.json")
	if got := o.Str("repository.full_name"); got != "Codertocat/Hello-World" {
		t.Errorf("Str(repository.full_name) = %q, want Codertocat/Hello-World", got)
	}
	if got := o.Num("repository.id"); got == 0 {
		t.Errorf("Num(repository.id) = 0, want the id")
	}
	if got := o.Get("repository.full_name.more"); got != nil {
		t.Errorf("Get(past a string) = %v, want nil", got)
	}
	o.Set("installation.id", 7)
	o.Set("repository.name", "other")
	var back Object
	if err := json.Unmarshal(o.JSON(t), &back); err != nil {
		t.Fatal(err)
	}
	if back.Num("installation.id") != 7 || back.Str("repository.name") != "other" {
		t.Errorf("after Set, JSON() = installation.id %d, repository.name %q, want 7, other", back.Num("installation.id"), back.Str("repository.name"))
	}
	// Each call decodes afresh: the change above is not seen again.
	if again := PayloadObject(t, "push/with-new-branch.payload.json"); again.Str("repository.name") != "Hello-World" {
		t.Errorf("PayloadObject() after a change = %q, want the file's Hello-World", again.Str("repository.name"))
	}
}

func TestObjectTime(t *testing.T) {
	o := Object{"at": "2026-05-04T12:30:00+02:00", "bad": "yesterday"}
	want := time.Date(2026, 5, 4, 10, 30, 0, 0, time.UTC)
	if got := o.Time("at"); got == nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Time(at) = %v, want %v", got, want)
	}
	if got := o.Time("bad"); got != nil {
		t.Errorf("Time(bad) = %v, want nil", got)
	}
}

func TestBigPush(t *testing.T) {
	var o Object
	if err := json.Unmarshal(BigPush(t, 3, 2, 40), &o); err != nil {
		t.Fatal(err)
	}
	commits := o.List("commits")
	if len(commits) != 3 {
		t.Fatalf("BigPush(3, 2, 40) has %d commits, want 3", len(commits))
	}
	for _, c := range commits {
		added := Object(c.(map[string]any)).List("added")
		if len(added) != 2 || len(added[0].(string)) != 40 {
			t.Errorf("BigPush commit added = %v, want 2 paths of 40 bytes", added)
		}
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("Now() after Advance(1m) = %v, want %v", got, t0.Add(time.Minute))
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("Now() after Set = %v, want %v", got, t0)
	}
}

func TestLogBuffer(t *testing.T) {
	var l LogBuffer
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { l.Logger().Info("hello", "i", i) })
	}
	wg.Wait()
	lines := l.Lines(t)
	if len(lines) != 20 {
		t.Fatalf("Lines() = %d lines, want 20", len(lines))
	}
	seen := map[float64]bool{}
	for _, line := range lines {
		seen[line["i"].(float64)] = true
	}
	if len(seen) != 20 || !reflect.DeepEqual(lines[0]["msg"], "hello") {
		t.Errorf("Lines() = %v, want 20 distinct hello lines", lines)
	}
}
