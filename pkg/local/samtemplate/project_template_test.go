package samtemplate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProjectTemplate checks the project's own template.yaml against the rules a
// deployment depends on: every function is built by a Makefile target from its folder,
// the queue's visibility timeout covers the processor, and every table the functions name
// is declared.
func TestProjectTemplate(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	tpl, err := Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatalf("Load(template.yaml) error = %v", err)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	fns := tpl.Functions()
	if len(fns) == 0 {
		t.Fatal("Functions() = none, want the project's functions")
	}
	timeouts := map[string]int{}
	for _, f := range fns {
		t.Run(f.LogicalID, func(t *testing.T) {
			r := tpl.Resources[f.LogicalID]
			if got := asString(path(r.Metadata, "BuildMethod")); got != "makefile" {
				t.Errorf("%s BuildMethod = %q, want makefile", f.LogicalID, got)
			}
			if got := asString(r.Properties["CodeUri"]); got != "." {
				t.Errorf("%s CodeUri = %q, want .", f.LogicalID, got)
			}
			if !strings.Contains(string(makefile), "\nbuild-"+f.LogicalID+":") {
				t.Errorf("Makefile has no build-%s target", f.LogicalID)
			}
			if _, err := os.Stat(filepath.Join(root, "functions", f.Name, "main.go")); err != nil {
				t.Errorf("functions/%s/main.go missing for %s", f.Name, f.LogicalID)
			}
			if len(list(r.Properties["Policies"])) == 0 {
				t.Errorf("%s has no Policies", f.LogicalID)
			}
			for k, v := range f.Env {
				if ref, ok := v.(Ref); ok {
					if _, isRes := tpl.Resources[ref.Name]; !isRes {
						if _, isParam := tpl.Parameters[ref.Name]; !isParam {
							t.Errorf("%s env %s refers to unknown %s", f.LogicalID, k, ref.Name)
						}
					}
				}
			}
		})
		timeouts[f.LogicalID] = f.Timeout
	}
	folders, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range folders {
		found := false
		for _, f := range fns {
			found = found || f.Name == d.Name()
		}
		if !found {
			t.Errorf("functions/%s is not declared in template.yaml", d.Name())
		}
	}

	for _, q := range tpl.Queues() {
		if q.DeadLetterQueue == "" {
			continue
		}
		if q.MaxReceiveCount < 5 {
			t.Errorf("%s maxReceiveCount = %d, want at least 5", q.LogicalID, q.MaxReceiveCount)
		}
		for _, f := range fns {
			for _, e := range f.Events {
				if e.Type == "SQS" && e.Queue == q.LogicalID {
					if want := 6 * f.Timeout; q.VisibilityTimeout < want {
						t.Errorf("%s VisibilityTimeout = %d, want six times %s's timeout, %d", q.LogicalID, q.VisibilityTimeout, f.LogicalID, want)
					}
					if !e.ReportBatchFailures {
						t.Errorf("%s SQS trigger lacks ReportBatchItemFailures", f.LogicalID)
					}
				}
			}
		}
	}
}
