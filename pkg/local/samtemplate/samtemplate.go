// Package samtemplate reads template.yaml, the one list of the project's AWS resources,
// so that the local stack and the tests create the same tables and queues, and wire the
// same routes and triggers, as a deployment does — instead of a second hand-kept list.
//
// It understands the subset of CloudFormation/SAM the project uses: resources with
// properties, Globals.Function, and the short intrinsic tags !Ref, !GetAtt and !Sub.
// No Go library parses SAM templates, so this is written by hand on top of yaml.v3.
//
// Its tests hold the template to the code: TestPoliciesMatchCode derives, from the Go
// source of each function's packages, the AWS operations the function can reach and the
// table, secret or queue each acts on (sdkuse_test.go), and fails on a call its Policies
// do not grant and on a grant no code uses; TestProjectTemplateKeepsData checks the
// retained stateful resources, the log groups and the processor's concurrency bound.
// sam-transform.py prints the template after the SAM transform, which `make lint` runs
// cfn-lint on as well (cfn-lint skips some rules, such as an unused parameter, on a
// template that still declares the transform).
package samtemplate

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Ref is a reference to another resource or parameter (!Ref Name).
type Ref struct{ Name string }

// GetAtt is an attribute of a resource (!GetAtt Name.Attr).
type GetAtt struct{ Name, Attr string }

// Sub is a string with ${} substitutions (!Sub "...").
type Sub struct{ Format string }

// Template is a parsed SAM template.
type Template struct {
	Resources map[string]Resource
	// GlobalEnv holds Globals.Function.Environment.Variables.
	GlobalEnv map[string]any
	// GlobalTimeout is Globals.Function.Timeout (seconds), 3 when absent as in SAM.
	GlobalTimeout int
	// Parameters holds the template's Parameters by name.
	Parameters map[string]Parameter
}

// Resource is one entry of Resources.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
	// DeletionPolicy and UpdateReplacePolicy as written ("" when absent: Delete).
	DeletionPolicy, UpdateReplacePolicy string
}

// Load parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(data)
}

// Parse parses template text.
func Parse(data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("parse template: empty document")
	}
	doc, err := convert(root.Content[0])
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse template: top level is not a mapping")
	}
	t := &Template{Resources: map[string]Resource{}, GlobalEnv: map[string]any{}, GlobalTimeout: 3, Parameters: parameters(top["Parameters"])}
	res, _ := top["Resources"].(map[string]any)
	for id, v := range res {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s is not a mapping", id)
		}
		r := Resource{Properties: map[string]any{}, Metadata: map[string]any{}}
		r.Type, _ = m["Type"].(string)
		r.DeletionPolicy, _ = m["DeletionPolicy"].(string)
		r.UpdateReplacePolicy, _ = m["UpdateReplacePolicy"].(string)
		if p, ok := m["Properties"].(map[string]any); ok {
			r.Properties = p
		}
		if md, ok := m["Metadata"].(map[string]any); ok {
			r.Metadata = md
		}
		t.Resources[id] = r
	}
	fn := path(top, "Globals", "Function")
	if env, ok := path(fn, "Environment", "Variables").(map[string]any); ok {
		t.GlobalEnv = env
	}
	if n, ok := asInt(path(fn, "Timeout")); ok {
		t.GlobalTimeout = n
	}
	return t, nil
}

// convert turns a yaml node into maps, slices, scalars and the intrinsic types above.
func convert(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!Ref":
		return Ref{Name: n.Value}, nil
	case "!GetAtt":
		name, attr, _ := strings.Cut(n.Value, ".")
		return GetAtt{Name: name, Attr: attr}, nil
	case "!Sub":
		return Sub{Format: n.Value}, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		// Long forms of the intrinsics.
		if len(m) == 1 {
			if s, ok := m["Ref"].(string); ok {
				return Ref{Name: s}, nil
			}
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.AliasNode:
		return convert(n.Alias)
	}
	return nil, fmt.Errorf("line %d: unsupported yaml node", n.Line)
}

func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func asInt(v any) (int, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// IDs returns the logical ids of the resources of one type, sorted.
func (t *Template) IDs(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}
