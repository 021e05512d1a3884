package config

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/secrets"
)

// Env reads one function's variables through the registry: each read applies the
// variable's default, parses its form and checks its bounds, and a variable that is
// unset while the function requires it, or set to a value of the wrong form, is recorded
// for Err instead of failing the read. A read of a variable the registry does not list
// for the function is recorded too: the registry is the list of what each function reads.
type Env struct {
	fn     Function
	getenv func(string) string
	errs   []error
	failed map[string]bool // variables with an error already recorded
}

// NewEnv returns the Env of fn over getenv (os.Getenv in a function, a map in tests).
func NewEnv(fn Function, getenv func(string) string) *Env {
	return &Env{fn: fn, getenv: getenv, failed: map[string]bool{}}
}

// Function returns the function whose variables e reads.
func (e *Env) Function() Function { return e.fn }

// Err returns every problem found by the reads so far, one line each, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s configuration: %w", e.fn, errors.Join(e.errs...))
}

// fail records a problem with the variable name, once however often it is read.
func (e *Env) fail(name, format string, args ...any) {
	if e.failed[name] {
		return
	}
	e.failed[name] = true
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

// Validate reads the variables called names (all the variables the registry lists for
// the function when none are given) through their forms' parsers, so that Err reports
// every misconfigured one at start, including those read only later or on some paths.
func (e *Env) Validate(names ...string) {
	if len(names) == 0 {
		for i := range Registry {
			if Registry[i].IsReadBy(e.fn) {
				names = append(names, Registry[i].Name)
			}
		}
	}
	for _, name := range names {
		v, ok := byName[name]
		if !ok {
			e.check(name, Text) // records the unknown name
			continue
		}
		switch v.Kind {
		case Text:
			e.Text(name)
		case URL:
			e.URL(name)
		case Int:
			e.Int(name)
		case Float:
			e.Float(name)
		case Duration:
			e.Duration(name)
		case Bool:
			e.Bool(name)
		case List:
			e.List(name)
		case ARN:
			e.ARN(name)
		case Secret:
			e.Secret(name)
		}
	}
}

// check returns the registered variable name when the registry lists it for the function
// with the form kind, and records the misuse otherwise.
func (e *Env) check(name string, kind Kind) (*Var, bool) {
	v, ok := byName[name]
	switch {
	case !ok:
		e.fail(name, "%s is not in the configuration registry", name)
	case v.Kind != kind:
		e.fail(name, "%s is read with the wrong parser (registered form: %s)", name, v.Form())
	case !v.IsReadBy(e.fn):
		e.fail(name, "%s is read by %s but the registry does not list it for %s", name, e.fn, e.fn)
	default:
		return v, true
	}
	return nil, false
}

// raw returns the value of name as set (or its default), and whether there is one; a
// required variable that is unset is recorded.
func (e *Env) raw(name string, kind Kind) (*Var, string, bool) {
	v, ok := e.check(name, kind)
	if !ok {
		return nil, "", false
	}
	s := e.getenv(name)
	if strings.TrimSpace(s) == "" {
		if v.RequiredBy(e.fn) {
			e.fail(name, "%s is not set: want %s", name, v.Form())
			return nil, "", false
		}
		s = v.Default
	}
	return v, s, s != ""
}

func (e *Env) invalid(v *Var, s string, err error) {
	e.fail(v.Name, "%s=%q: %v: want %s", v.Name, s, err, v.Form())
}

// Text returns the value of a Text variable.
func (e *Env) Text(name string) string {
	_, s, _ := e.raw(name, Text)
	return s
}

// Lookup returns the value of a Text variable, or "" when the registry does not list it
// for the function. It serves helpers that read a fixed set of variables of which each
// function uses some (store.TablesFrom); required variables are still enforced.
func (e *Env) Lookup(name string) string {
	if v, ok := byName[name]; ok && v.Kind == Text && !v.IsReadBy(e.fn) {
		return ""
	}
	return e.Text(name)
}

// URL returns the value of a URL variable.
func (e *Env) URL(name string) string {
	return parsed(e, name, URL, ParseURL)
}

// ARN returns the value of an ARN variable.
func (e *Env) ARN(name string) string {
	return parsed(e, name, ARN, ParseARN)
}

// List returns the values of a List variable.
func (e *Env) List(name string) []string {
	_, s, _ := e.raw(name, List)
	return ParseList(s)
}

// Bool returns the value of a Bool variable (false when unset with no default).
func (e *Env) Bool(name string) bool {
	return parsed(e, name, Bool, ParseBool)
}

// Int returns the value of an Int variable (0 when unset with no default).
func (e *Env) Int(name string) int64 {
	return parsedInBounds(e, name, Int, ParseInt)
}

// Float returns the value of a Float variable (0 when unset with no default).
func (e *Env) Float(name string) float64 {
	return parsedInBounds(e, name, Float, ParseFloat)
}

// Duration returns the value of a Duration variable (0 when unset with no default).
func (e *Env) Duration(name string) time.Duration {
	return parsedInBounds(e, name, Duration, ParseDuration)
}

// parsed reads name as a variable of the form kind and parses it; the zero T when it is
// unset with no default.
func parsed[T any](e *Env, name string, kind Kind, parse func(string) (T, error)) T {
	v, s, ok := e.raw(name, kind)
	if !ok {
		var zero T
		return zero
	}
	x, err := parse(s)
	if err != nil {
		e.invalid(v, s, err)
	}
	return x
}

// parsedInBounds is parsed, the value also checked against the variable's bounds.
func parsedInBounds[T cmp.Ordered](e *Env, name string, kind Kind, parse func(string) (T, error)) T {
	v, s, ok := e.raw(name, kind)
	if !ok {
		var zero T
		return zero
	}
	return bounded(e, v, s, parse)
}

// bounded parses s and checks it against v's bounds (written in the same form).
func bounded[T cmp.Ordered](e *Env, v *Var, s string, parse func(string) (T, error)) T {
	x, err := parse(s)
	if err != nil {
		e.invalid(v, s, err)
		return x
	}
	if v.Min != "" {
		if lo, err := parse(v.Min); err == nil && x < lo {
			e.invalid(v, s, errors.New("too small"))
		}
	}
	if v.Max != "" {
		if hi, err := parse(v.Max); err == nil && x > hi {
			e.invalid(v, s, errors.New("too large"))
		}
	}
	return x
}

// SecretRef is where a secret comes from: its value given directly (NAME, as local runs
// do), or the ARN of the Secrets Manager secret that holds it (NAME_ARN, as in AWS).
type SecretRef struct {
	Name  string // the variable's name, NAME
	Value string // NAME's value
	ARN   string // NAME_ARN's value
}

// String names where the secret comes from and never shows its value (%v, %+v, %#v).
func (r SecretRef) String() string {
	switch {
	case r.Value != "":
		return r.Name + " (value given)"
	case r.ARN != "":
		return r.Name + "_ARN=" + r.ARN
	}
	return r.Name + " (unset)"
}

// GoString is String.
func (r SecretRef) GoString() string { return r.String() }

// LogValue is String, for log/slog.
func (r SecretRef) LogValue() slog.Value { return slog.StringValue(r.String()) }

// Set reports whether either form is set.
func (r SecretRef) Set() bool { return r.Value != "" || r.ARN != "" }

// Load returns the secret: the value when given, else the Secrets Manager secret read
// through sm. An unset secret is secrets.ErrMissing.
func (r SecretRef) Load(ctx context.Context, sm secrets.Getter) (string, error) {
	if r.Value != "" {
		return r.Value, nil
	}
	if r.ARN == "" {
		return "", fmt.Errorf("%s: %w", r.Name, secrets.ErrMissing)
	}
	v, err := secrets.Get(ctx, sm, r.ARN)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r.Name, err)
	}
	return v, nil
}

// Secret returns where the Secret variable's secret comes from. Reading the secret
// itself (SecretRef.Load) is left to the function, which decides what an unreadable
// secret means for it.
func (e *Env) Secret(name string) SecretRef {
	ref := SecretRef{Name: name}
	v, ok := e.check(name, Secret)
	if !ok {
		return ref
	}
	ref.Value = e.getenv(name)
	if arn := e.getenv(name + "_ARN"); strings.TrimSpace(arn) != "" {
		var err error
		if ref.ARN, err = ParseARN(arn); err != nil {
			e.fail(name, "%s_ARN=%q: %v: want %s", name, arn, err, v.Form())
		}
	}
	if !ref.Set() && v.RequiredBy(e.fn) {
		e.fail(name, "%s is not set: want %s", name, v.Form())
	}
	return ref
}
