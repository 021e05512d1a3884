// Package config is the one place that defines the environment variables the five
// functions read: each variable's name, the functions that read it, whether they need it,
// its default, its form and its meaning (Registry), and one parser per form. A function
// reads its variables through an Env, which collects every misconfigured variable into
// one start-up error that names the variable and the form it accepts.
//
// Forms: text, absolute http(s) URLs, Go durations ("30s", "720h"; the only duration
// syntax), bounded integers and numbers, booleans, comma-separated lists, Secrets Manager
// ARNs, and secrets, given either by value in NAME (local runs) or by the ARN of a
// Secrets Manager secret in NAME_ARN (AWS).
//
// pkg/startup checks every variable a function reads before the function's setup runs.
// Adding a variable: a name constant and a Registry entry (vars.go), a read through Env
// where it is used, the variable in the Environment of each function in template.yaml
// that needs it, then `go test ./pkg/config -run TestREADMETable -update` to rewrite the
// README's table. The tests in this package fail until the registry, template.yaml and
// the README agree.
package config

import (
	"fmt"
	"slices"
	"strings"
)

// Function names one of the five functions (its folder under functions/).
type Function string

// The functions.
const (
	API       Function = "api"
	Health    Function = "health"
	Ingest    Function = "ingest"
	Processor Function = "processor"
	Redeliver Function = "redeliver"
)

// Functions lists every function, sorted.
var Functions = []Function{API, Health, Ingest, Processor, Redeliver}

// Kind is the form of a variable's value.
type Kind int

// The kinds. Each has one parser (Parse) and one description (Var.Form).
const (
	Text     Kind = iota // any string
	URL                  // an absolute http or https URL
	Int                  // a decimal integer, within Min..Max when set
	Float                // a decimal number, within Min..Max when set
	Duration             // a Go duration ("30s", "720h"), within Min..Max when set
	Bool                 // true or false (strconv.ParseBool's spellings)
	List                 // comma-separated values; blanks dropped
	ARN                  // the ARN of a Secrets Manager secret
	Secret               // the value in NAME or a Secrets Manager secret named by NAME_ARN
)

// Var is one environment variable.
type Var struct {
	// Name is the variable's name; for a Secret, the name of the value form (the ARN form
	// is Name+"_ARN").
	Name string
	Kind Kind
	// Default is the value an unset variable takes, in the variable's own form; "" for
	// none.
	Default string
	// Min and Max bound Int, Float and Duration values, in the variable's form; "" for
	// no bound.
	Min, Max string
	// Required lists the functions that refuse to start when the variable is unset;
	// Optional the functions that read it when set.
	Required, Optional []Function
	// Meaning says what the variable does, in one line (Markdown).
	Meaning string
}

// ReadBy returns the functions that read v, sorted.
func (v *Var) ReadBy() []Function {
	out := append(slices.Clone(v.Required), v.Optional...)
	slices.Sort(out)
	return out
}

// IsReadBy reports whether fn reads v.
func (v *Var) IsReadBy(fn Function) bool {
	return slices.Contains(v.Required, fn) || slices.Contains(v.Optional, fn)
}

// RequiredBy reports whether fn refuses to start without v.
func (v *Var) RequiredBy(fn Function) bool { return slices.Contains(v.Required, fn) }

// Names returns the environment variable names v may be given as: Name, and for a
// Secret also Name+"_ARN".
func (v *Var) Names() []string {
	if v.Kind == Secret {
		return []string{v.Name, v.Name + "_ARN"}
	}
	return []string{v.Name}
}

// Form describes the values v accepts, as error messages and the README state it.
func (v *Var) Form() string {
	var form string
	switch v.Kind {
	case Text:
		return "text"
	case URL:
		return "absolute http(s) URL"
	case Int:
		form = "integer"
	case Float:
		form = "number"
	case Duration:
		form = `Go duration ("30s", "720h")`
	case Bool:
		return "true or false"
	case List:
		return "comma-separated list"
	case ARN:
		return "Secrets Manager ARN (arn:…)"
	case Secret:
		return fmt.Sprintf("value in %s or Secrets Manager ARN in %s_ARN", v.Name, v.Name)
	}
	switch {
	case v.Min != "" && v.Max != "":
		form += fmt.Sprintf(" from %s to %s", v.Min, v.Max)
	case v.Min != "":
		form += " of at least " + v.Min
	case v.Max != "":
		form += " of at most " + v.Max
	}
	return form
}

// Lookup returns the registered variable called name (a Secret also by its _ARN name).
func Lookup(name string) (*Var, bool) {
	v, ok := byName[name]
	if !ok {
		if base, isARN := strings.CutSuffix(name, "_ARN"); isARN {
			if v, ok = byName[base]; ok && v.Kind != Secret {
				return nil, false
			}
		}
	}
	return v, ok
}

var byName = func() map[string]*Var {
	m := make(map[string]*Var, len(Registry))
	for i := range Registry {
		m[Registry[i].Name] = &Registry[i]
	}
	return m
}()
