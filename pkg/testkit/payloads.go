package testkit

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"
)

// The payloads are embedded rather than read by path so that every package's tests find
// them whatever their working directory, and nothing outside the module is read.
//
//go:embed testdata/github-payloads
var payloadFS embed.FS

const payloadRoot = "testdata/github-payloads"

// PayloadCount is the number of payloads in testdata/github-payloads.
const PayloadCount = 273

// A Payload is one real webhook body GitHub sent.
type Payload struct {
	// Event is the payload's folder: the X-GitHub-Event header GitHub sends with it.
	Event string
	// Path is "<event>/<file>", as Payload and PayloadObject take it.
	Path string
	Body []byte
}

// Payloads returns every payload of event, or every payload when event is "", in path
// order. It fails the test when there is none.
func Payloads(t testing.TB, event string) []Payload {
	t.Helper()
	var out []Payload
	err := fs.WalkDir(payloadFS, path.Join(payloadRoot, event), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel := strings.TrimPrefix(p, payloadRoot+"/")
		ev, _, ok := strings.Cut(rel, "/")
		if !ok {
			return nil
		}
		b, err := payloadFS.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, Payload{Event: ev, Path: rel, Body: b})
		return nil
	})
	if err != nil {
		t.Fatalf("Payloads(%q): %v", event, err)
	}
	if len(out) == 0 {
		t.Fatalf("Payloads(%q) found none", event)
	}
	return out
}

// PayloadBytes returns the payload at rel ("push/with-new-branch.payload.json") as GitHub
// sent it.
func PayloadBytes(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := payloadFS.ReadFile(path.Join(payloadRoot, rel))
	if err != nil {
		t.Fatalf("read payload %s: %v", rel, err)
	}
	return b
}

// PayloadObject returns the payload at rel decoded, a fresh copy on each call that the
// test may change.
func PayloadObject(t testing.TB, rel string) Object {
	t.Helper()
	var o Object
	if err := json.Unmarshal(PayloadBytes(t, rel), &o); err != nil {
		t.Fatalf("decode payload %s: %v", rel, err)
	}
	return o
}

// Object is a decoded JSON object, read and changed by dotted paths
// ("repository.full_name").
type Object map[string]any

// Get returns the value at path, nil when a step of it is missing or not an object.
func (o Object) Get(path string) any {
	var v any = map[string]any(o)
	for k := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// Str returns the string at path, "" when there is none.
func (o Object) Str(path string) string { s, _ := o.Get(path).(string); return s }

// Num returns the number at path as an int64, 0 when there is none.
func (o Object) Num(path string) int64 { f, _ := o.Get(path).(float64); return int64(f) }

// Bool returns the boolean at path, false when there is none.
func (o Object) Bool(path string) bool { b, _ := o.Get(path).(bool); return b }

// List returns the array at path, nil when there is none.
func (o Object) List(path string) []any { l, _ := o.Get(path).([]any); return l }

// Time returns the RFC 3339 time at path in UTC, nil when there is none.
func (o Object) Time(path string) *time.Time {
	t, err := time.Parse(time.RFC3339, o.Str(path))
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}

// Set puts v at path, creating the objects on the way.
func (o Object) Set(path string, v any) {
	keys := strings.Split(path, ".")
	m := map[string]any(o)
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// JSON returns the object encoded.
func (o Object) JSON(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("encode payload: %v", err)
	}
	return b
}

// BigPush returns the real push payload push/with-new-branch.payload.json with its one
// commit repeated n times, each adding perCommit distinct paths of about pathLen bytes:
// the push that tests the size budget of an envelope.
func BigPush(t testing.TB, n, perCommit, pathLen int) []byte {
	t.Helper()
	o := PayloadObject(t, "push/with-new-branch.payload.json")
	tmpl := o.List("commits")[0].(map[string]any)
	commits := make([]any, n)
	for i := range commits {
		c := make(map[string]any, len(tmpl))
		for k, v := range tmpl {
			c[k] = v
		}
		added := make([]string, perCommit)
		for j := range added {
			p := fmt.Sprintf("src/module-%04d/file-%02d-", i, j)
			added[j] = p + strings.Repeat("x", max(0, pathLen-len(p)-3)) + ".go"
		}
		c["added"], c["id"] = added, fmt.Sprintf("%040x", i)
		commits[i] = c
	}
	o["created"], o["before"], o["commits"] = false, "6113728f27ae82c7b1a177c8d03f9e96e0adf245", commits
	return o.JSON(t)
}
