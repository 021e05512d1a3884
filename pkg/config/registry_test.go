package config

import (
	"slices"
	"strings"
	"testing"
)

// TestRegistryWellFormed checks each entry: a unique upper-case name, read by at least one
// function and required by no function that also lists it as optional, a default and
// bounds in the variable's own form, and no default on a variable some function requires.
func TestRegistryWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Registry {
		t.Run(v.Name, func(t *testing.T) {
			for _, n := range v.Names() {
				if seen[n] {
					t.Errorf("%s is registered twice", n)
				}
				seen[n] = true
			}
			if v.Name != strings.ToUpper(v.Name) || v.Meaning == "" {
				t.Errorf("%s: want an upper-case name and a meaning", v.Name)
			}
			if len(v.ReadBy()) == 0 {
				t.Errorf("%s is read by no function", v.Name)
			}
			for _, fn := range v.Required {
				if slices.Contains(v.Optional, fn) {
					t.Errorf("%s is both required and optional for %s", v.Name, fn)
				}
			}
			if len(v.Required) > 0 && v.Default != "" {
				t.Errorf("%s is required with a default %q", v.Name, v.Default)
			}
			if v.Default != "" {
				e := NewEnv(v.ReadBy()[0], envOf(nil))
				e.Validate(v.Name)
				if err := e.Err(); err != nil {
					t.Errorf("default of %s: %v", v.Name, err)
				}
			}
			if (v.Min != "" || v.Max != "") && v.Kind != Int && v.Kind != Float && v.Kind != Duration {
				t.Errorf("%s has bounds but is a %s", v.Name, v.Form())
			}
			for _, b := range []string{v.Min, v.Max} {
				if b == "" {
					continue
				}
				if err := parseAs(v.Kind, b); err != nil {
					t.Errorf("%s bound %q: %v", v.Name, b, err)
				}
			}
		})
	}
}

func parseAs(k Kind, s string) error {
	var err error
	switch k {
	case Int:
		_, err = ParseInt(s)
	case Float:
		_, err = ParseFloat(s)
	case Duration:
		_, err = ParseDuration(s)
	}
	return err
}
