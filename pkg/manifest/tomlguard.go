package manifest

import (
	"fmt"
	"strings"
)

// maxTOMLDepth bounds the nesting of arrays and inline tables in a TOML manifest. The
// TOML decoder recurses per level and a megabyte of "[" takes it seconds and gigabytes;
// real manifests nest two or three levels.
const maxTOMLDepth = 64

// checkTOMLDepth reports an error when arrays and inline tables in src nest deeper than
// maxTOMLDepth. It skips comments and strings, whose brackets do not nest; anything it
// cannot follow is left to the decoder to reject.
func checkTOMLDepth(src string) error {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '#':
			i = skipTo(src, i+1, "\n")
		case '"', '\'':
			quote := string(c)
			if strings.HasPrefix(src[i:], quote+quote+quote) {
				i = skipString(src, i+3, quote+quote+quote, c == '"')
			} else {
				i = skipString(src, i+1, quote, c == '"')
			}
		case '[', '{':
			if depth++; depth > maxTOMLDepth {
				return fmt.Errorf("arrays or tables nested deeper than %d levels", maxTOMLDepth)
			}
		case ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return nil
}

// skipTo returns the index of the first byte of end at or after i, or len(src).
func skipTo(src string, i int, end string) int {
	if j := strings.Index(src[i:], end); j >= 0 {
		return i + j
	}
	return len(src)
}

// skipString returns the index of the last byte of the string that starts at src[i]
// and ends with end; in basic strings a backslash escapes the next byte. A one-line
// string also ends at a newline.
func skipString(src string, i int, end string, escapes bool) int {
	for ; i < len(src); i++ {
		switch {
		case escapes && src[i] == '\\':
			i++
		case len(end) == 1 && src[i] == '\n':
			return i
		case strings.HasPrefix(src[i:], end):
			return i + len(end) - 1
		}
	}
	return len(src)
}
