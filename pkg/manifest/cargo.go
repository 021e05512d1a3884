package manifest

import (
	"fmt"

	"github.com/BurntSushi/toml"
)

// cargoTables are the dependency tables of a Cargo.toml package or target; Cargo still
// accepts the underscore spellings.
var cargoTables = []string{
	"dependencies", "dev-dependencies", "build-dependencies",
	"dev_dependencies", "build_dependencies",
}

func parseCargo(content []byte) ([]Dependency, error) {
	var doc map[string]any
	if err := checkTOMLDepth(string(content)); err != nil {
		return nil, err
	}
	if err := toml.Unmarshal(content, &doc); err != nil {
		return nil, err
	}
	var deps []Dependency
	add := func(where string, table any) error {
		d, err := cargoDeps(where, table)
		deps = append(deps, d...)
		return err
	}
	for _, t := range cargoTables {
		if err := add(t, doc[t]); err != nil {
			return nil, err
		}
	}
	ws, err := table("workspace", doc["workspace"])
	if err != nil {
		return nil, err
	}
	if err := add("workspace.dependencies", ws["dependencies"]); err != nil {
		return nil, err
	}
	targets, err := table("target", doc["target"])
	if err != nil {
		return nil, err
	}
	for cfg, v := range targets {
		target, err := table("target."+cfg, v)
		if err != nil {
			return nil, err
		}
		for _, t := range cargoTables {
			if err := add("target."+cfg+"."+t, target[t]); err != nil {
				return nil, err
			}
		}
	}
	return deps, nil
}

// table returns v as a TOML table; a missing value is an empty table.
func table(where string, v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a table, got %T", where, v)
	}
	return m, nil
}

// cargoDeps reads one dependency table: name = "version" or name = { version = "...",
// package = "real-name", path/git/workspace = ... }.
func cargoDeps(where string, v any) ([]Dependency, error) {
	m, err := table(where, v)
	if err != nil {
		return nil, err
	}
	var deps []Dependency
	for key, spec := range m {
		if key == "" {
			return nil, fmt.Errorf("%s: empty crate name", where)
		}
		d := Dependency{Name: key}
		switch spec := spec.(type) {
		case string:
			d.Version = spec
		case map[string]any:
			if d.Version, err = optString(where+"."+key+".version", spec["version"]); err != nil {
				return nil, err
			}
			pkg, err := optString(where+"."+key+".package", spec["package"])
			if err != nil {
				return nil, err
			}
			if pkg != "" {
				d.Name = pkg // key is a local rename
			}
		default:
			return nil, fmt.Errorf("%s.%s: want a version or a table, got %T", where, key, spec)
		}
		deps = append(deps, d)
	}
	return deps, nil
}

// optString returns v as a string; a missing value is "".
func optString(where string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %T", where, v)
	}
	return s, nil
}
