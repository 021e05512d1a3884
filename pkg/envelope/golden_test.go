package envelope

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current Build")

// goldenBigPushes are grown pushes beside the real payloads: the 2,048-commit cap, and one
// whose path list is dropped to fit the message budget.
var goldenBigPushes = []struct {
	name                  string
	n, perCommit, pathLen int
}{
	{"big-push-2048x1.json", 2048, 1, 40},
	{"big-push-300x4x250.json", 300, 4, 250},
}

// goldenOf is what the golden file of one payload holds: the marshalled envelope, or
// "refused" when Build or Marshal refuses the payload.
func goldenOf(event string, body []byte) []byte {
	e, err := Build(event, "golden-delivery", body, received)
	if err != nil {
		return []byte("refused\n")
	}
	b, err := e.Marshal(MaxBodyBytes)
	if err != nil {
		return []byte("refused\n")
	}
	return append(b, '\n')
}

// TestGolden keeps the envelope of every one of the 273 real payloads (and of grown
// pushes) byte for byte what testdata/golden records: accept or refuse, and every field.
// The files were written by the encoding/json builder before the one-pass decoder
// replaced it; regenerate only for an intended change, with -update.
func TestGolden(t *testing.T) {
	type tc struct {
		event, file string
		body        []byte
	}
	var cases []tc
	for _, p := range testkit.Payloads(t, "") {
		cases = append(cases, tc{p.Event, p.Path, p.Body})
	}
	if len(cases) != testkit.PayloadCount {
		t.Fatalf("Payloads() = %d payloads, want %d", len(cases), testkit.PayloadCount)
	}
	for _, bp := range goldenBigPushes {
		cases = append(cases, tc{"push", "grown/" + bp.name, testkit.BigPush(t, bp.n, bp.perCommit, bp.pathLen)})
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", filepath.FromSlash(strings.TrimSuffix(c.file, ".json")+".envelope.json"))
			got := goldenOf(c.event, c.body)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Build(%s, %s) envelope =\n%s\nwant\n%s", c.event, c.file, got, want)
			}
		})
	}
}
