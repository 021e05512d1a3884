package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// npmSections are the package.json fields that list dependencies by name and range.
// bundleDependencies only repeats names listed in these.
var npmSections = []string{"dependencies", "devDependencies", "peerDependencies", "optionalDependencies"}

func parsePackageJSON(content []byte) ([]Dependency, error) {
	if t := bytes.TrimSpace(content); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("package.json is not a JSON object")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(content, &doc); err != nil {
		return nil, err
	}
	var deps []Dependency
	for _, field := range npmSections {
		raw, ok := doc[field]
		if !ok || string(raw) == "null" {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		for name, version := range m {
			if name == "" {
				return nil, fmt.Errorf("%s: empty package name", field)
			}
			deps = append(deps, Dependency{Name: name, Version: version})
		}
	}
	return deps, nil
}
