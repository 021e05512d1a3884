package manifest

import (
	"golang.org/x/mod/modfile"
)

// parseGoMod reads the direct requirements of a go.mod. ParseLax ignores directives
// newer than golang.org/x/mod knows, so a newer go.mod still reads.
func parseGoMod(content []byte) ([]Dependency, error) {
	f, err := modfile.ParseLax("go.mod", content, nil)
	if err != nil {
		return nil, err
	}
	var deps []Dependency
	for _, r := range f.Require {
		if r.Indirect {
			continue
		}
		deps = append(deps, Dependency{Name: r.Mod.Path, Version: r.Mod.Version})
	}
	return deps, nil
}
