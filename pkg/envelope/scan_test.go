package envelope

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

// walk reads one value with s as the decoder does: it descends into a container with
// ReadToken where descend says so (checking the names of an object it walks, as
// decoder.object does) and reads anything else whole with ReadValue.
func walk(s *scanner, names *nameSet, descend func() bool) error {
	k := s.PeekKind()
	if (k != '{' && k != '[') || !descend() {
		_, err := s.ReadValue()
		return err
	}
	if _, err := s.ReadToken(); err != nil {
		return err
	}
	if k == '[' {
		for s.PeekKind() != ']' {
			if err := walk(s, names, descend); err != nil {
				return err
			}
		}
	} else {
		f := names.open()
		for s.PeekKind() != '}' {
			raw, err := s.ReadValue()
			if err != nil {
				return err
			}
			n, err := jsontext.AppendUnquote(nil, raw)
			if err != nil {
				return err
			}
			if !names.insert(&f, n) {
				return errDuplicateName
			}
			if err := walk(s, names, descend); err != nil {
				return err
			}
		}
		names.close(&f)
	}
	_, err := s.ReadToken()
	return err
}

// scanAll reads b as one top-level value followed by nothing but whitespace; seed
// chooses which containers are walked and which read whole.
func scanAll(b []byte, seed uint64) error {
	var names nameSet
	names.reset()
	var s scanner
	s.reset(b, &names)
	descend := func() bool {
		seed = seed*6364136223846793005 + 1442695040888963407
		return seed>>63 == 1
	}
	if err := walk(&s, &names, descend); err != nil {
		return err
	}
	if _, err := s.ReadToken(); err != io.EOF {
		if err == nil {
			return errTrailing
		}
		return err
	}
	return nil
}

// scanCases are inputs at the edges of strict JSON, each of which the scanner must
// judge as jsontext does.
var scanCases = []string{
	``, ` `, `{`, `}`, `{}`, ` {} `, `{}{}`, `{} x`, `[]`, `[1,]`, `[,1]`, `{,}`, `{"a":1,}`,
	`{"a"}`, `{"a":}`, `{"a" 1}`, `{"a":1 "b":2}`, `{1:2}`, `{"a":1}}`, `[[]`, `[]]`,
	`"x"`, `"\u0000"`, "\"\x00\"", "\"\x1f\"", "\"\x7f\"", `"\/"`, `"\x"`, `"\u12"`, `"\u12g4"`,
	`"\ud800"`, `"\udc00"`, `"\ud800\udc00"`, `"\ud800\u0041"`, `"\udbff\udfff"`, `"\ud800\ud800"`,
	`"\uDFFF\uD800"`, `"\uD83D\uDE00"`, `"\ud800\"`, `"\ud800\u"`, "\"\xff\"", "\"\xc3\xa9\"",
	"\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xef\xbf\xbd\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"",
	"\"\xef\xbf\xbe\"", `0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `1e05`,
	`-1.5e+10`, `+1`, `0x10`, `1_000`, `true`, `tru`, `truex`, `null`, `nul`, `false`, `fals`,
	`[true,false,null]`, `{"a":{"b":[1,{"c":null}]}}`, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`,
	`{"a":{"a":1},"b":{"a":1}}`, `[{"a":1},{"a":1}]`, `{"":1,"":2}`, "{\t\"a\"\r\n:\n1 }",
	"{\"a\":1}\x00", "\ufeff{}", `{"a":"\"}"}`, `{"a\"":1,"a\"":2}`, `{"a\\":1,"a\\\\":2}`,
	`{"x":[1,2,{"y":"z","y":"w"}]}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
	`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
}

// TestScanMatchesJSONText: the scanner accepts exactly what jsontext's defaults accept,
// on edge cases and on the real payloads, however the decoder walks the value.
func TestScanMatchesJSONText(t *testing.T) {
	inputs := slicesOf(scanCases)
	for _, p := range testkit.Payloads(t, "") {
		inputs = append(inputs, p.Body)
	}
	inputs = append(inputs, testkit.BigPush(t, 300, 4, 250))
	for _, in := range inputs {
		want := jsontext.Value(in).IsValid()
		for seed := range uint64(4) {
			if err := scanAll(in, seed); (err == nil) != want {
				t.Errorf("scanAll(%.60q, seed %d) = %v, want valid %t (jsontext)", in, seed, err, want)
			}
		}
	}
}

func slicesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// FuzzScanDifferential compares the scanner's accept/refuse with jsontext's on any
// input, walking containers or reading them whole as seed chooses.
func FuzzScanDifferential(f *testing.F) {
	for _, c := range scanCases {
		if len(c) < 1000 {
			f.Add([]byte(c), uint64(0))
			f.Add([]byte(c), uint64(7))
		}
	}
	f.Add([]byte(`{"a":[1,"\u00e9",{"b":null,"c":[true,false]}],"d":-1.5e3}`), uint64(3))
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		want := jsontext.Value(in).IsValid()
		if err := scanAll(in, seed); (err == nil) != want {
			t.Errorf("scanAll(%q, seed %d) = %v, want valid %t (jsontext)", in, seed, err, want)
		}
		if bytes.HasPrefix(bytes.TrimLeft(in, " \t\r\n"), []byte("{")) {
			_, err := Build("push", "d", in, received)
			if err == nil && !want {
				t.Errorf("Build(%q) accepted what jsontext refuses", in)
			}
		}
	})
}
