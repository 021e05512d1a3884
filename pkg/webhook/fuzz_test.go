package webhook

import (
	"errors"
	"net/url"
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

// FuzzPayload checks the form-body parser: Payload never panics, gives a JSON body back
// as it is, and for a form body returns exactly the first "payload" field as
// net/url decodes it, or an error.
func FuzzPayload(f *testing.F) {
	f.Add([]byte("payload=%7B%22zen%22%3A%22Keep+it+logically+awesome.%22%7D"))
	f.Add([]byte("a=1&payload=%7B%7D&payload=2"))
	f.Add([]byte("payload="))
	f.Add([]byte("payload"))
	f.Add([]byte("payload=%zz"))
	f.Add([]byte("payload=%7B;x=1"))
	f.Add([]byte("zen=no+payload+field"))
	f.Add([]byte(`{"zen":"json sent as form"}`))
	f.Add([]byte("&&=&payload=%00%ff"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Payload(FormatJSON, body)
		if err != nil || string(got) != string(body) {
			t.Fatalf("Payload(FormatJSON, %q) = %q, %v, want the body", body, got, err)
		}
		got, err = Payload(FormatForm, body)
		form, perr := url.ParseQuery(string(body))
		switch {
		case perr != nil:
			if !errors.Is(err, ErrBadForm) {
				t.Fatalf("Payload(FormatForm, %q) = %q, %v, want ErrBadForm", body, got, err)
			}
		case len(form["payload"]) == 0:
			if !errors.Is(err, ErrNoPayload) {
				t.Fatalf("Payload(FormatForm, %q) = %q, %v, want ErrNoPayload", body, got, err)
			}
		case err != nil || string(got) != form["payload"][0]:
			t.Fatalf("Payload(FormatForm, %q) = %q, %v, want %q", body, got, err, form["payload"][0])
		}
	})
}

// FuzzHeaders checks the parsers of the unsigned delivery headers: CheckHeaders accepts
// only GitHub's shapes, and MediaType only the two content types.
func FuzzHeaders(f *testing.F) {
	f.Add("push", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "application/json; charset=utf-8")
	f.Add("projects_v2_item", "a.b_c", "application/x-www-form-urlencoded")
	f.Add("Push", "a b", "text/plain")
	f.Add("", "", "")
	f.Add("push\n", "id\x00", "APPLICATION/JSON ;")
	f.Fuzz(func(t *testing.T, event, delivery, contentType string) {
		if CheckHeaders(event, delivery) == nil {
			if event == "" || len(event) > MaxEventTypeLen || strings.Trim(event, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
				t.Fatalf("CheckHeaders(%q, %q) = nil, want an event name", event, delivery)
			}
			if delivery == "" || len(delivery) > MaxDeliveryIDLen || strings.Trim(delivery, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
				t.Fatalf("CheckHeaders(%q, %q) = nil, want a delivery id", event, delivery)
			}
		}
		format, err := MediaType(contentType)
		mt, _, _ := strings.Cut(contentType, ";")
		mt = strings.Map(func(r rune) rune {
			if 'A' <= r && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, strings.TrimSpace(mt))
		want := map[string]Format{"application/json": FormatJSON, "application/x-www-form-urlencoded": FormatForm}[mt]
		if format != want || (want == 0) != (err != nil) {
			t.Fatalf("MediaType(%q) = %v, %v, want %v", contentType, format, err, want)
		}
	})
}
