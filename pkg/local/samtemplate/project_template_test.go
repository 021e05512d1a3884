package samtemplate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot is the module's root folder, seen from this package's.
var moduleRoot = filepath.Join("..", "..", "..")

// projectTemplate loads the project's own template.yaml.
func projectTemplate(t *testing.T) *Template {
	t.Helper()
	tpl, err := Load(filepath.Join(moduleRoot, "template.yaml"))
	if err != nil {
		t.Fatalf("Load(template.yaml) error = %v", err)
	}
	return tpl
}

// TestProjectTemplate checks the project's own template.yaml against the rules a
// deployment depends on: every function is built by a Makefile target from its folder,
// the queue's visibility timeout covers the processor, and every table the functions name
// is declared.
func TestProjectTemplate(t *testing.T) {
	tpl := projectTemplate(t)
	makefile, err := os.ReadFile(filepath.Join(moduleRoot, "Makefile"))
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
			if _, err := os.Stat(filepath.Join(moduleRoot, "functions", f.Name, "main.go")); err != nil {
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
	folders, err := os.ReadDir(filepath.Join(moduleRoot, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range folders {
		if !d.IsDir() {
			continue // functions/README.md
		}
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

// TestProjectTemplateKeepsData checks what a deployment must not lose or leave open:
// every stateful resource is retained when the stack is deleted or replaces it, every
// function logs to its own group with LogRetentionDays, the processor's SQS trigger is
// bounded by a parameter, and the functions that act as the App can read its id from the
// manifest flow's registration secret (no second deployment after registering it).
func TestProjectTemplateKeepsData(t *testing.T) {
	tpl := projectTemplate(t)
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"} {
		ids := tpl.IDs(typ)
		if len(ids) == 0 {
			t.Errorf("template has no %s", typ)
		}
		for _, id := range ids {
			r := tpl.Resources[id]
			if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
				t.Errorf("%s DeletionPolicy, UpdateReplacePolicy = %q, %q, want Retain, Retain", id, r.DeletionPolicy, r.UpdateReplacePolicy)
			}
		}
	}
	groups := map[string]string{}
	for _, f := range tpl.Functions() {
		props := tpl.Resources[f.LogicalID].Properties
		ref, ok := path(props, "LoggingConfig", "LogGroup").(Ref)
		if !ok || tpl.Resources[ref.Name].Type != "AWS::Logs::LogGroup" {
			t.Errorf("%s LoggingConfig.LogGroup = %v, want a !Ref to its AWS::Logs::LogGroup", f.LogicalID, path(props, "LoggingConfig", "LogGroup"))
			continue
		}
		if other, dup := groups[ref.Name]; dup {
			t.Errorf("%s and %s share the log group %s, want one each", f.LogicalID, other, ref.Name)
		}
		groups[ref.Name] = f.LogicalID
		if got := tpl.Resources[ref.Name].Properties["RetentionInDays"]; got != (Ref{Name: "LogRetentionDays"}) {
			t.Errorf("%s RetentionInDays = %v, want !Ref LogRetentionDays", ref.Name, got)
		}

		if _, actsAsApp := f.Env["GITHUB_APP_ID"]; actsAsApp {
			if got := f.Env["GITHUB_APP_REGISTRATION_ARN"]; got != (Ref{Name: "AppRegistrationSecret"}) {
				t.Errorf("%s GITHUB_APP_REGISTRATION_ARN = %v, want !Ref AppRegistrationSecret", f.LogicalID, got)
			}
		}

		events, _ := props["Events"].(map[string]any)
		for name, ev := range events {
			if asString(path(ev, "Type")) != "SQS" {
				continue
			}
			mc, ok := path(ev, "Properties", "ScalingConfig", "MaximumConcurrency").(Ref)
			if !ok {
				t.Errorf("%s SQS event %s has no ScalingConfig.MaximumConcurrency parameter", f.LogicalID, name)
				continue
			}
			if p, ok := tpl.Parameters[mc.Name]; !ok || p.Type != "Number" || !p.HasDefault {
				t.Errorf("%s MaximumConcurrency refers to %s = %+v, want a Number parameter with a default", f.LogicalID, mc.Name, p)
			}
		}
	}
}
