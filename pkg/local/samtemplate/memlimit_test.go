package samtemplate

import (
	"regexp"
	"strconv"
	"testing"
)

// TestGoMemLimitMatchesMemorySize checks that the functions that parse repository
// content (processor, api) set GOMEMLIMIT, and that every GOMEMLIMIT in the template is
// about 90% of its function's MemorySize, so that the two change together.
func TestGoMemLimitMatchesMemorySize(t *testing.T) {
	tpl := projectTemplate(t)
	mib := regexp.MustCompile(`^([0-9]+)MiB$`)
	required := map[string]bool{"ProcessorFunction": true, "ApiFunction": true}
	for _, f := range tpl.Functions() {
		v, ok := f.Env["GOMEMLIMIT"]
		if !ok {
			if required[f.LogicalID] {
				t.Errorf("%s sets no GOMEMLIMIT, want ~90%% of its MemorySize", f.LogicalID)
			}
			continue
		}
		s, _ := v.(string)
		m := mib.FindStringSubmatch(s)
		if m == nil || f.MemorySize == 0 {
			t.Errorf("%s GOMEMLIMIT = %v with MemorySize %d, want <n>MiB beside an explicit MemorySize", f.LogicalID, v, f.MemorySize)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if lo, hi := f.MemorySize*85/100, f.MemorySize*92/100; n < lo || n > hi {
			t.Errorf("%s GOMEMLIMIT = %dMiB, MemorySize %d: want %d-%dMiB (about 90%%)", f.LogicalID, n, f.MemorySize, lo, hi)
		}
	}
}
