package devstack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// sampleEvent is what tells a sample event's trigger.
type sampleEvent struct {
	Version    string `json:"version"`
	RouteKey   string `json:"routeKey"`
	DetailType string `json:"detail-type"`
	Records    []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
}

// TestEventsCoverEveryTrigger checks that events/<function>/ holds a valid event for
// every trigger of every function in template.yaml (one API v2 event per route, an SQS
// batch, a scheduled event), and no API event for a route that does not exist, so that
// `make invoke` can run each of them.
func TestEventsCoverEveryTrigger(t *testing.T) {
	root, tpl := projectTemplate(t)
	for _, fn := range tpl.Functions() {
		t.Run(fn.Name, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(root, "events", fn.Name, "*.json"))
			routes, sqs, scheduled := map[string]bool{}, false, false
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				var ev sampleEvent
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Errorf("%s is not a JSON event: %v", f, err)
					continue
				}
				switch {
				case ev.RouteKey != "":
					if ev.Version != "2.0" {
						t.Errorf("%s: version %q, want 2.0 (HTTP API payload v2)", f, ev.Version)
					}
					routes[ev.RouteKey] = true
				case len(ev.Records) > 0 && ev.Records[0].EventSource == "aws:sqs":
					sqs = true
				case ev.DetailType == "Scheduled Event":
					scheduled = true
				}
			}
			declared := map[string]bool{}
			for _, e := range fn.Events {
				switch e.Type {
				case "HttpApi":
					key := e.Method + " " + e.Path
					declared[key] = true
					if !routes[key] {
						t.Errorf("no event in events/%s for route %s", fn.Name, key)
					}
				case "SQS":
					if !sqs {
						t.Errorf("no SQS batch event in events/%s", fn.Name)
					}
				case "Schedule", "ScheduleV2":
					if !scheduled {
						t.Errorf("no scheduled event in events/%s", fn.Name)
					}
				}
			}
			for key := range routes {
				if !declared[key] {
					t.Errorf("events/%s has an event for %s, which template.yaml does not route to %s", fn.Name, key, fn.Name)
				}
			}
		})
	}
}

// projectTemplate returns the module's root directory and its template.yaml.
func projectTemplate(t testing.TB) (string, *samtemplate.Template) {
	t.Helper()
	root, err := standin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return root, tpl
}
