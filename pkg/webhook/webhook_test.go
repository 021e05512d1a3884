package webhook

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// GitHub's documented test vector ("Validating webhook deliveries").
const (
	vectorSecret = "It's a Secret to Everybody"
	vectorBody   = "Hello, World!"
	vectorHeader = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestSignGitHubVector(t *testing.T) {
	if got := Sign(vectorSecret, []byte(vectorBody)); got != vectorHeader {
		t.Errorf("Sign(%q, %q) = %s, want %s", vectorSecret, vectorBody, got, vectorHeader)
	}
	if err := NewVerifier(vectorSecret).Verify([]byte(vectorBody), vectorHeader); err != nil {
		t.Errorf("Verify(%q, %s) = %v, want nil", vectorBody, vectorHeader, err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	sig := func(secret string) string { return Sign(secret, body) }
	tests := []struct {
		name    string
		secrets string
		body    []byte
		header  string
		want    error
	}{
		{"current secret", "new", body, sig("new"), nil},
		{"previous secret during rotation", "new,old", body, sig("old"), nil},
		{"current secret during rotation", "new,old", body, sig("new"), nil},
		{"third secret refused", "new,old", body, sig("older"), ErrBadSignature},
		{"spaces and empty entries ignored", " new , ,old ,", body, sig("old"), nil},
		{"secret with its spaces is another secret", "new", body, sig(" new"), ErrBadSignature},
		{"upper-case hex", "new", body, "sha256=" + strings.ToUpper(strings.TrimPrefix(sig("new"), "sha256=")), nil},
		{"surrounding spaces in the header", "new", body, " " + sig("new") + " ", nil},
		{"wrong secret", "new", body, sig("wrong"), ErrBadSignature},
		{"other body", "new", []byte(`{"zen":"x"}`), sig("new"), ErrBadSignature},
		{"body with a trailing newline", "new", append(append([]byte{}, body...), '\n'), sig("new"), ErrBadSignature},
		{"missing", "new", body, "", ErrMissingSignature},
		{"blank", "new", body, "   ", ErrMissingSignature},
		{"sha1 prefix", "new", body, "sha1=" + strings.TrimPrefix(sig("new"), "sha256="), ErrMalformedSignature},
		{"upper-case prefix", "new", body, "SHA256=" + strings.TrimPrefix(sig("new"), "sha256="), ErrMalformedSignature},
		{"no prefix", "new", body, strings.TrimPrefix(sig("new"), "sha256="), ErrMalformedSignature},
		{"short hex", "new", body, sig("new")[:len(sig("new"))-2], ErrMalformedSignature},
		{"long hex", "new", body, sig("new") + "00", ErrMalformedSignature},
		{"not hex", "new", body, "sha256=" + strings.Repeat("zz", 32), ErrMalformedSignature},
		{"no secret", "", body, sig(""), ErrNoSecret},
		{"only blank secrets", " , ", body, sig(" "), ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewVerifier(tt.secrets).Verify(tt.body, tt.header)
			if !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("Verify(%q) with secrets %q = %v, want %v", tt.header, tt.secrets, got, tt.want)
			}
		})
	}
}

func TestVerifierSecrets(t *testing.T) {
	tests := []struct {
		secrets string
		want    int
	}{{"", 0}, {" , ,", 0}, {"a", 1}, {"a,b", 2}, {" a , b ,, c", 3}}
	for _, tt := range tests {
		t.Run(tt.secrets, func(t *testing.T) {
			v := NewVerifier(tt.secrets)
			if got := v.Secrets(); got != tt.want {
				t.Errorf("NewVerifier(%q).Secrets() = %d, want %d", tt.secrets, got, tt.want)
			}
			if got := v.Configured(); got != (tt.want > 0) {
				t.Errorf("NewVerifier(%q).Configured() = %t, want %t", tt.secrets, got, tt.want > 0)
			}
		})
	}
}

func TestVerifierConcurrent(t *testing.T) {
	v := NewVerifier("a,b")
	bodies := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for j := range 200 {
				b := bodies[(i+j)%len(bodies)]
				if e := v.Verify(b, Sign("b", b)); e != nil {
					err = e
				}
				if e := v.Verify(b, Sign("c", b)); !errors.Is(e, ErrBadSignature) {
					err = errors.New("accepted a body signed with another secret")
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Errorf("concurrent Verify() = %v, want nil", err)
		}
	}
}

func TestCheckHeaders(t *testing.T) {
	const guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	tests := []struct {
		name, event, delivery string
		want                  error
	}{
		{"github's", "push", guid, nil},
		{"event with underscore", "installation_repositories", guid, nil},
		{"event with digit", "projects_v2_item", guid, nil},
		{"missing event", "", guid, ErrMissingEvent},
		{"missing delivery", "push", "", ErrMissingDelivery},
		{"missing both", "", "", ErrMissingEvent},
		{"upper-case event", "Push", guid, ErrBadEvent},
		{"event with space", "push x", guid, ErrBadEvent},
		{"long event", strings.Repeat("a", MaxEventTypeLen+1), guid, ErrBadEvent},
		{"delivery with control character", "push", "abc\n", ErrBadDelivery},
		{"delivery with space", "push", "a b", ErrBadDelivery},
		{"long delivery", "push", strings.Repeat("a", MaxDeliveryIDLen+1), ErrBadDelivery},
		{"longest delivery", "push", strings.Repeat("a", MaxDeliveryIDLen), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckHeaders(tt.event, tt.delivery); !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("CheckHeaders(%q, %q) = %v, want %v", tt.event, tt.delivery, got, tt.want)
			}
		})
	}
}

func TestMediaType(t *testing.T) {
	tests := []struct {
		contentType string
		want        Format
		wantErr     error
	}{
		{"application/json", FormatJSON, nil},
		{"application/json; charset=utf-8", FormatJSON, nil},
		{"Application/JSON;charset=UTF-8", FormatJSON, nil},
		{" application/json ", FormatJSON, nil},
		{"application/x-www-form-urlencoded", FormatForm, nil},
		{"application/x-www-form-urlencoded; charset=utf-8", FormatForm, nil},
		{"", 0, ErrUnsupportedMediaType},
		{"text/plain", 0, ErrUnsupportedMediaType},
		{"application/jsonx", 0, ErrUnsupportedMediaType},
		{"multipart/form-data; boundary=x", 0, ErrUnsupportedMediaType},
		{"application/vnd.github+json", 0, ErrUnsupportedMediaType},
		{"application/j\u017fon", 0, ErrUnsupportedMediaType}, // a long s, which Unicode folds to s
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			got, err := MediaType(tt.contentType)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("MediaType(%q) = %v, %v, want %v, %v", tt.contentType, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPayload(t *testing.T) {
	const obj = `{"action":"opened","n":1}`
	tests := []struct {
		name    string
		format  Format
		body    string
		want    string
		wantErr error
	}{
		{"json", FormatJSON, obj, obj, nil},
		{"json with leading space", FormatJSON, "\n " + obj, "\n " + obj, nil},
		// What the payload holds is envelope.Build's to judge.
		{"json array as it is", FormatJSON, `[1,2]`, `[1,2]`, nil},
		{"empty", FormatJSON, ``, ``, nil},
		{"form", FormatForm, "payload=" + url.QueryEscape(obj), obj, nil},
		{"form with other fields first", FormatForm, "a=1&payload=" + url.QueryEscape(obj) + "&b=2", obj, nil},
		{"form with repeated payload takes the first", FormatForm, "payload=" + url.QueryEscape(obj) + "&payload=%7B%7D", obj, nil},
		{"form without payload", FormatForm, "other=" + url.QueryEscape(obj), "", ErrNoPayload},
		{"empty form", FormatForm, "", "", ErrNoPayload},
		{"form with bad escape", FormatForm, "payload=%zz", "", ErrBadForm},
		{"form payload as it is", FormatForm, "payload=42", "42", nil},
		{"json body sent as form", FormatForm, obj, "", ErrNoPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Payload(tt.format, []byte(tt.body))
			if string(got) != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Payload(%v, %q) = %q, %v, want %q, %v", tt.format, tt.body, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(strings.Repeat(`{"key":"value"},`, 1000))
	v := NewVerifier("current,previous")
	header := Sign("previous", body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := v.Verify(body, header); err != nil {
			b.Fatal(err)
		}
	}
}
