package webhook

import (
	"strings"
	"testing"
)

// FuzzVerify checks that Verify never panics, never accepts a header that is not the
// signature of the body under one of the configured secrets, and always accepts one
// that is.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(vectorBody), vectorHeader, vectorSecret)
	f.Add([]byte(vectorBody), vectorHeader, "other,"+vectorSecret)
	f.Add([]byte(`{"a":1}`), "sha256=", "s")
	f.Add([]byte(``), "sha1=0000", "")
	f.Add([]byte(`x`), Sign("a\x00", []byte("x")), "a")
	f.Add([]byte(`x`), strings.ToUpper(Sign("k", []byte("x"))), "k")
	f.Fuzz(func(t *testing.T, body []byte, header, secrets string) {
		v := NewVerifier(secrets)
		var keys []string
		for _, s := range strings.Split(secrets, ",") {
			if s = strings.TrimSpace(s); s != "" {
				keys = append(keys, s)
			}
		}
		err := v.Verify(body, header)
		if len(keys) == 0 {
			if err != ErrNoSecret {
				t.Fatalf("Verify() with secrets %q = %v, want ErrNoSecret", secrets, err)
			}
			return
		}
		if err == nil {
			signed := false
			for _, k := range keys {
				// Compare what was accepted with what each secret yields.
				if strings.EqualFold(strings.TrimSpace(header), Sign(k, body)) {
					signed = true
				}
			}
			if !signed {
				t.Fatalf("Verify(%q, %q) with secrets %q = nil, but the header is no configured secret's signature", body, header, secrets)
			}
		}
		for _, k := range keys {
			if err := v.Verify(body, Sign(k, body)); err != nil {
				t.Fatalf("Verify(body, Sign(%q, body)) = %v, want nil", k, err)
			}
		}
	})
}
