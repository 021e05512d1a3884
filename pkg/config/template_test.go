package config_test

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/health"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/processor"
	"github.com/repotrackr/github-integration/pkg/redeliver"
)

// TestTemplateEnvironment checks each function's Environment in template.yaml against the
// registry: it names only variables the function reads, gives secrets by ARN only, sets
// every variable the function requires, and its literal values (and parameter defaults)
// have the registered form.
// runtimeVars are the Go runtime's own variables a template may set (GOMEMLIMIT: the
// soft memory limit matched to MemorySize, checked in pkg/local/samtemplate).
var runtimeVars = map[string]bool{"GOMEMLIMIT": true}

func TestTemplateEnvironment(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fns := tpl.Functions()
	if len(fns) != len(config.Functions) {
		t.Errorf("template.yaml declares %d functions, the registry knows %d", len(fns), len(config.Functions))
	}
	for _, f := range fns {
		fn := config.Function(f.Name)
		t.Run(f.Name, func(t *testing.T) {
			values := map[string]string{}
			for name, val := range f.Env {
				if runtimeVars[name] {
					continue // read by the Go runtime, not by our code
				}
				v, ok := config.Lookup(name)
				switch {
				case !ok:
					t.Errorf("%s sets %s, which the registry does not know", f.LogicalID, name)
					continue
				case !v.IsReadBy(fn):
					t.Errorf("%s sets %s, which %s does not read (registry: %v)", f.LogicalID, name, fn, v.ReadBy())
					continue
				case v.Kind == config.Secret && name == v.Name:
					t.Errorf("%s gives the secret %s by value; want %s_ARN", f.LogicalID, name, name)
				}
				if s, ok := literal(tpl, val); ok {
					values[name] = s
				}
			}
			for _, v := range config.Registry {
				if !v.RequiredBy(fn) {
					continue
				}
				set := false
				for _, n := range v.Names() {
					_, has := f.Env[n]
					set = set || has
				}
				if !set {
					t.Errorf("%s does not set %s, which %s requires", f.LogicalID, v.Name, fn)
				}
			}
			// Read the values the template fixes through the registry's parsers.
			env := config.NewEnv(fn, func(k string) string { return values[k] })
			for name := range values {
				if v, _ := config.Lookup(name); !v.RequiredBy(fn) { // required: resource references
					env.Validate(v.Name)
				}
			}
			if err := env.Err(); err != nil {
				t.Errorf("%s Environment: %v", f.LogicalID, err)
			}
		})
	}
}

var subParam = regexp.MustCompile(`\$\{([A-Za-z0-9]+)\}`)

// literal returns a template value that does not depend on a resource: a string, a
// parameter's default, or a !Sub of parameter defaults.
func literal(tpl *samtemplate.Template, val any) (string, bool) {
	switch x := val.(type) {
	case string:
		return x, true
	case samtemplate.Ref:
		if p, ok := tpl.Parameters[x.Name]; ok && p.HasDefault {
			return p.Default, true
		}
	case samtemplate.Sub:
		ok := true
		out := subParam.ReplaceAllStringFunc(x.Format, func(m string) string {
			p, isParam := tpl.Parameters[m[2:len(m)-1]]
			ok = ok && isParam && p.HasDefault
			return p.Default
		})
		return out, ok
	}
	return "", false
}

// TestRegistryDefaultsMatchPackages holds the registry's defaults to the constants of
// the packages that apply them when a Config field is zero.
func TestRegistryDefaultsMatchPackages(t *testing.T) {
	th := health.DefaultThresholds()
	tests := []struct {
		fn   config.Function
		name string
		read func(*config.Env) any
		want any
	}{
		{config.Processor, config.EventLogRetention, func(e *config.Env) any { return e.Duration(config.EventLogRetention) }, processor.DefaultRetention},
		{config.Processor, config.ProcessorLease, func(e *config.Env) any { return e.Duration(config.ProcessorLease) }, processor.DefaultLease},
		{config.Redeliver, config.RedeliverLookback, func(e *config.Env) any { return e.Duration(config.RedeliverLookback) }, redeliver.DefaultLookback},
		{config.Redeliver, config.RedeliverLookback + " max", func(*config.Env) any {
			v, _ := config.Lookup(config.RedeliverLookback)
			d, _ := config.ParseDuration(v.Max)
			return d
		}, time.Duration(redeliver.MaxLookback)},
		{config.Ingest, config.MetricsNamespace, func(e *config.Env) any { return e.Text(config.MetricsNamespace) }, metrics.DefaultNamespace},
		{config.Health, config.HealthMinSuccessRate, func(e *config.Env) any { return e.Float(config.HealthMinSuccessRate) }, th.MinSuccessRate},
		{config.Health, config.HealthUnhealthySuccessRate, func(e *config.Env) any { return e.Float(config.HealthUnhealthySuccessRate) }, th.UnhealthySuccessRate},
		{config.Health, config.HealthMaxQueueAge, func(e *config.Env) any { return e.Duration(config.HealthMaxQueueAge) }, th.MaxQueueAge},
		{config.Health, config.HealthUnhealthyQueueAge, func(e *config.Env) any { return e.Duration(config.HealthUnhealthyQueueAge) }, th.UnhealthyQueueAge},
		{config.Health, config.HealthUnhealthyDLQDepth, func(e *config.Env) any { return e.Int(config.HealthUnhealthyDLQDepth) }, th.UnhealthyDLQDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := config.NewEnv(tt.fn, func(string) string { return "" })
			if got := tt.read(e); got != tt.want || e.Err() != nil {
				t.Errorf("registry default of %s = %v (%v), want %v", tt.name, got, e.Err(), tt.want)
			}
		})
	}
}
