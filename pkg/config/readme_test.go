package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/config"
)

var update = flag.Bool("update", false, "rewrite the configuration table in the root README.md from the registry")

const (
	tableBegin = "<!-- config:begin -->"
	tableEnd   = "<!-- config:end -->"
)

// markdownTable renders the registry as the README's configuration table.
func markdownTable() string {
	var b strings.Builder
	b.WriteString("| variable | read by | default | form | meaning |\n| --- | --- | --- | --- | --- |\n")
	for _, v := range config.Registry {
		names := make([]string, 0, 2)
		for _, n := range v.Names() {
			names = append(names, "`"+n+"`")
		}
		var readBy []string
		for _, fn := range v.ReadBy() {
			readBy = append(readBy, string(fn))
		}
		dflt := "—"
		switch {
		case len(v.Required) > 0 && len(v.Optional) == 0:
			dflt = "required"
		case len(v.Required) > 0:
			var req []string
			for _, fn := range v.Required {
				req = append(req, string(fn))
			}
			slices.Sort(req)
			dflt = "required by " + strings.Join(req, ", ")
		case v.Default != "":
			dflt = "`" + v.Default + "`"
		}
		b.WriteString("| " + strings.Join([]string{
			strings.Join(names, " / "), strings.Join(readBy, ", "), dflt, v.Form(), v.Meaning,
		}, " | ") + " |\n")
	}
	return b.String()
}

// TestREADMETable checks that the configuration table in the root README.md, between
// the config:begin and config:end markers, is the registry's. go test ./pkg/config
// -run TestREADMETable -update rewrites it.
func TestREADMETable(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s … %s region", tableBegin, tableEnd)
	}
	start := i + len(tableBegin) + 1
	got, want := readme[start:j], markdownTable()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:start]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the configuration table in %s", path)
		return
	}
	gotRows, wantRows := strings.Split(got, "\n"), strings.Split(want, "\n")
	for _, r := range wantRows {
		if !slices.Contains(gotRows, r) {
			t.Errorf("README.md configuration table lacks the row\n%s", r)
		}
	}
	for _, r := range gotRows {
		if !slices.Contains(wantRows, r) {
			t.Errorf("README.md configuration table has a row the registry does not\n%s", r)
		}
	}
	if !t.Failed() {
		t.Errorf("README.md configuration table lists the registry's rows in another order")
	}
	t.Log("go test ./pkg/config -run TestREADMETable -update rewrites the table from the registry")
}
