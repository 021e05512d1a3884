package envelope

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

// reference builds the envelope the slow, obvious way: jsontext's defaults decide
// whether the payload is strict JSON, then encoding/json decodes it into the payload
// shapes. Build must give the same answer and the same envelope.
func reference(event string, payload []byte) (*Envelope, error) {
	if t := bytes.TrimLeft(payload, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, ErrNotObject
	}
	e := &Envelope{Version: Version, DeliveryID: "delivery", EventType: event, ReceivedAt: received}
	if err := buildStrictStd(e, event, payload); err != nil {
		return nil, err
	}
	return e, nil
}

// differentialSeeds are payloads that probe where a one-pass decoder could part from
// encoding/json: nulls, wrong types, escapes, case-folded names, numbers, strictness.
var differentialSeeds = []struct{ event, payload string }{
	{"push", `{"ref":null,"commits":null,"head_commit":null,"repository":null}`},
	{"push", `{"ref":"a","Ref":"b"}`},
	{"push", `{"ref":"a","ref":"b"}`},
	{"push", `{"\u0072ef":"refs/heads/x","commits":[null,{"added":[null,"a","","b"]},{"removed":["a"]}]}`},
	{"push", `{"ref":1}`},
	{"push", `{"commits":{}}`},
	{"push", `{"commits":[1]}`},
	{"push", `{"created":"true"}`},
	{"push", `{"head_commit":{"timestamp":"2026-05-04T10:30:00+02:00"},"before":"a","after":"b"}`},
	{"push", `{"head_commit":{"timestamp":12}}`},
	{"push", `{"head_commit":[]}`},
	{"push", `{"repository":{}} `},
	{"push", `{"repository":{"id":1.5}}`},
	{"push", `{"repository":{"id":1e3}}`},
	{"push", `{"repository":{"id":9223372036854775808}}`},
	{"push", `{"repository":{"id":-0,"private":true,"full_name":"a\/b"}}`},
	{"push", "{\"ref\":\"\xff\"}"},
	{"push", `{"ref":"\ud800"}`},
	{"push", `{} {}`},
	{"push", `{}x`},
	{"push", ` {}` + "\n"},
	{"push", `{"a":[[[[[[[[[[]]]]]]]]]]}`},
	{"push", `{"sender":{"\u212Aey":1,"login":"x"}}`},
	{"push", `{"sender":{"LOGIN":"x"}}`},
	{"pull_request", `{"pull_request":{"labels":[null,{"name":"bug"},{}],"milestone":{"title":"m"},"user":{"login":"u"},"head":{"ref":"h"},"base":null}}`},
	{"pull_request", `{"pull_request":{}}`},
	{"pull_request", `{"pull_request":{"labels":[]}}`},
	{"pull_request", `{"pull_request":{"labels":["x"]}}`},
	{"pull_request", `{"pull_request":{"number":"1"}}`},
	{"issues", `{"issue":{"number":3,"labels":[{"name":"a"}],"closed_at":null,"created_at":"2026-05-04T10:30:00Z"}}`},
	{"issues", `{"issue":null}`},
	{"installation", `{"action":"created","installation":{"id":1,"account":{}},"repositories":[{"full_name":"a/b"},null]}`},
	{"installation", `{"action":"deleted","installation":{"id":1},"repositories":[{"full_name":"a/b"}]}`},
	{"installation", `{"installation":{"id":"1"}}`},
	{"installation_repositories", `{"installation":{"id":1,"repository_selection":"all"},"repository_selection":"selected","repositories_added":[],"repositories_removed":[{"full_name":"a/b"}]}`},
	{"installation_repositories", `{"installation":null,"repositories_added":[{"full_name":"a/b"}]}`},
	{"star", `{"action":"created","installation":{"id":7},"repository":{"full_name":"a/b"}}`},
	{"star", `{"installation":{"id":7,"account":"x"}}`},
}

// FuzzBuildDifferential compares Build with reference on any payload: both accept or
// both refuse, and an accepted payload gives the same envelope.
func FuzzBuildDifferential(f *testing.F) {
	for _, s := range differentialSeeds {
		f.Add(s.event, []byte(s.payload))
	}
	for _, p := range testkit.Payloads(f, "") {
		if len(p.Body) < 16<<10 {
			f.Add(p.Event, p.Body)
		}
	}
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		checkDifferential(t, event, payload)
	})
}

func checkDifferential(t *testing.T, event string, payload []byte) {
	t.Helper()
	got, err := Build(event, "delivery", payload, received)
	want, wantErr := reference(event, payload)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("Build(%s, %q) error = %v, reference error = %v", event, payload, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Build(%s, %q) =\n%+v\nreference\n%+v", event, payload, got, want)
	}
}

// TestBuildDifferential runs the differential check on its seeds and on every real
// payload, so that plain go test covers it.
func TestBuildDifferential(t *testing.T) {
	for _, s := range differentialSeeds {
		t.Run(s.event+"/"+s.payload, func(t *testing.T) { checkDifferential(t, s.event, []byte(s.payload)) })
	}
	for _, p := range testkit.Payloads(t, "") {
		t.Run(p.Path, func(t *testing.T) { checkDifferential(t, p.Event, p.Body) })
	}
}

// TestBuildStrict: what encoding/json alone would accept but strict JSON refuses.
func TestBuildStrict(t *testing.T) {
	for _, payload := range []string{
		`{"ref":"a","ref":"b"}`,
		"{\"ref\":\"\xff\"}",
		`{"a":` + string(bytes.Repeat([]byte("["), 10001)) + string(bytes.Repeat([]byte("]"), 10001)) + `}`,
		`{} {}`,
	} {
		if _, err := Build("push", "d", []byte(payload), received); err == nil {
			t.Errorf("Build(push, %.40q) error = nil, want refused", payload)
		}
	}
}

// members returns n members "<prefix>0":0, "<prefix>1":1, … joined by commas.
func members(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", prefix+strconv.Itoa(i), i)
	}
	return b.String()
}

// TestBuildDuplicateNames: the duplicate-name check (linear for small objects, hashed
// past 32 names) refuses what jsontext refuses and accepts what it accepts, in wanted
// and skipped objects, at any depth, through escapes, and across payloads decoded one
// after the other by the same pooled decoder.
func TestBuildDuplicateNames(t *testing.T) {
	big := members("n", 40)
	tests := []struct {
		name    string
		payload string
		refused bool
	}{
		{"top level, small", `{"a":1,"b":2,"a":3}`, true},
		{"top level, past 32 names", `{` + big + `,"n7":1}`, true},
		{"top level, past 32 names, no duplicate", `{` + big + `,"ref":"x"}`, false},
		{"wanted object past 32 names", `{"repository":{` + big + `,"id":1,"n39":0}}`, true},
		{"wanted object past 32 names, escaped", `{"repository":{` + big + `,"\u006e3":0}}`, true},
		{"skipped object", `{"x":{"a":1,"a":2}}`, true},
		{"skipped object in an array", `{"x":[1,{"a":1,"b":{},"a":2}]}`, true},
		{"skipped object past 32 names", `{"x":{` + big + `,"n0":1}}`, true},
		{"siblings with the same names", `{"x":{` + big + `},"y":{` + big + `},"z":[{` + big + `},{` + big + `}]}`, false},
		{"big object in a big object", `{"x":{` + big + `,"y":{` + big + `},"n40":1}}`, false},
		{"big object in a big object, duplicate in the outer after the inner", `{"x":{` + big + `,"y":{` + big + `},"n1":1}}`, true},
		{"big object in a big object, duplicate in the inner", `{"x":{` + big + `,"y":{` + big + `,"n39":1}}}`, true},
		{"parent's name in a child", `{"x":{"a":1,"y":{"a":1}}}`, false},
		{"timestamp object", `{"head_commit":{"timestamp":{"a":1,"a":2}}}`, true},
		{"empty names", `{"":1,"x":{"":2},"":3}`, true},
		{"type error on an object", `{"ref":{"a":1,"a":2}}`, true},
	}
	// Each case runs as written and padded to a large payload (64 KiB of a string before
	// it); the later rounds reuse pooled decoders.
	pad := `{"padding":"` + strings.Repeat("p", 64<<10) + `",`
	for round := range 4 {
		for _, tt := range tests {
			payload := tt.payload
			if round%2 == 1 {
				payload = pad + payload[1:]
			}
			t.Run(tt.name, func(t *testing.T) {
				_, err := Build("push", "d", []byte(payload), received)
				if (err != nil) != tt.refused {
					t.Errorf("Build(push, %.60q, %d bytes) error = %v, want refused %t", tt.payload, len(payload), err, tt.refused)
				}
				checkDifferential(t, "push", []byte(payload))
			})
		}
	}
}
