package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/secrets"
)

// testRegistry swaps in a registry of one variable per kind, read by the api, for the
// duration of a test (which must not be parallel).
func testRegistry(t *testing.T) {
	t.Helper()
	savedRegistry, savedByName := Registry, byName
	t.Cleanup(func() { Registry, byName = savedRegistry, savedByName })
	Registry = []Var{
		{Name: "T_TEXT", Kind: Text, Default: "dflt", Optional: api},
		{Name: "T_REQ", Kind: Text, Required: api, Optional: health},
		{Name: "T_URL", Kind: URL, Optional: api},
		{Name: "T_INT", Kind: Int, Default: "10", Min: "1", Max: "100", Optional: api},
		{Name: "T_FLOAT", Kind: Float, Default: "0.5", Min: "0", Max: "1", Optional: api},
		{Name: "T_DUR", Kind: Duration, Default: "720h", Min: "1m", Max: "1000h", Optional: api},
		{Name: "T_BOOL", Kind: Bool, Default: "false", Optional: api},
		{Name: "T_LIST", Kind: List, Optional: api},
		{Name: "T_ARN", Kind: ARN, Optional: api},
		{Name: "T_SECRET", Kind: Secret, Required: api},
		{Name: "T_OTHER", Kind: Text, Optional: health},
	}
	byName = map[string]*Var{}
	for i := range Registry {
		byName[Registry[i].Name] = &Registry[i]
	}
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEnvKinds(t *testing.T) {
	testRegistry(t)
	tests := []struct {
		name    string
		read    func(*Env) any
		env     map[string]string
		want    any
		wantErr string // a substring of Err(); "" for no error
	}{
		{"text set", func(e *Env) any { return e.Text("T_TEXT") }, map[string]string{"T_TEXT": "x"}, "x", ""},
		{"text default", func(e *Env) any { return e.Text("T_TEXT") }, nil, "dflt", ""},
		{"required set", func(e *Env) any { return e.Text("T_REQ") }, map[string]string{"T_REQ": "t"}, "t", ""},
		{"required unset", func(e *Env) any { return e.Text("T_REQ") }, nil, "", "T_REQ is not set: want text"},
		{"required blank", func(e *Env) any { return e.Text("T_REQ") }, map[string]string{"T_REQ": "  "}, "", "T_REQ is not set"},

		{"url", func(e *Env) any { return e.URL("T_URL") }, map[string]string{"T_URL": " https://ghe.example.com/api/v3/ "}, "https://ghe.example.com/api/v3/", ""},
		{"url unset", func(e *Env) any { return e.URL("T_URL") }, nil, "", ""},
		{"url relative", func(e *Env) any { return e.URL("T_URL") }, map[string]string{"T_URL": "/path"}, "", `T_URL="/path": not an absolute http(s) URL: want absolute http(s) URL`},
		{"url scheme", func(e *Env) any { return e.URL("T_URL") }, map[string]string{"T_URL": "ftp://host/"}, "", "T_URL=\"ftp://host/\""},

		{"int", func(e *Env) any { return e.Int("T_INT") }, map[string]string{"T_INT": " 42 "}, int64(42), ""},
		{"int default", func(e *Env) any { return e.Int("T_INT") }, nil, int64(10), ""},
		{"int bad", func(e *Env) any { return e.Int("T_INT") }, map[string]string{"T_INT": "4x"}, int64(0), `T_INT="4x": not a decimal integer: want integer from 1 to 100`},
		{"int low", func(e *Env) any { return e.Int("T_INT") }, map[string]string{"T_INT": "0"}, int64(0), `T_INT="0": too small: want integer from 1 to 100`},
		{"int high", func(e *Env) any { return e.Int("T_INT") }, map[string]string{"T_INT": "101"}, int64(101), "too large"},

		{"float", func(e *Env) any { return e.Float("T_FLOAT") }, map[string]string{"T_FLOAT": "0.95"}, 0.95, ""},
		{"float default", func(e *Env) any { return e.Float("T_FLOAT") }, nil, 0.5, ""},
		{"float bad", func(e *Env) any { return e.Float("T_FLOAT") }, map[string]string{"T_FLOAT": "95%"}, 0.0, `T_FLOAT="95%": not a number: want number from 0 to 1`},
		{"float nan", func(e *Env) any { return e.Float("T_FLOAT") }, map[string]string{"T_FLOAT": "NaN"}, 0.0, "not a number"},
		{"float high", func(e *Env) any { return e.Float("T_FLOAT") }, map[string]string{"T_FLOAT": "1.5"}, 1.5, "too large"},

		{"duration", func(e *Env) any { return e.Duration("T_DUR") }, map[string]string{"T_DUR": "90s"}, 90 * time.Second, ""},
		{"duration default", func(e *Env) any { return e.Duration("T_DUR") }, nil, 720 * time.Hour, ""},
		{"duration bare number", func(e *Env) any { return e.Duration("T_DUR") }, map[string]string{"T_DUR": "30"}, time.Duration(0), `T_DUR="30": not a Go duration: want Go duration ("30s", "720h") from 1m to 1000h`},
		{"duration days", func(e *Env) any { return e.Duration("T_DUR") }, map[string]string{"T_DUR": "30d"}, time.Duration(0), "not a Go duration"},
		{"duration low", func(e *Env) any { return e.Duration("T_DUR") }, map[string]string{"T_DUR": "10s"}, 10 * time.Second, "too small"},
		{"duration high", func(e *Env) any { return e.Duration("T_DUR") }, map[string]string{"T_DUR": "1001h"}, 1001 * time.Hour, "too large"},

		{"bool", func(e *Env) any { return e.Bool("T_BOOL") }, map[string]string{"T_BOOL": "true"}, true, ""},
		{"bool default", func(e *Env) any { return e.Bool("T_BOOL") }, nil, false, ""},
		{"bool bad", func(e *Env) any { return e.Bool("T_BOOL") }, map[string]string{"T_BOOL": "yes"}, false, `T_BOOL="yes": not true or false: want true or false`},

		{"list", func(e *Env) any { return e.List("T_LIST") }, map[string]string{"T_LIST": " a , ,b,"}, []string{"a", "b"}, ""},
		{"list unset", func(e *Env) any { return e.List("T_LIST") }, nil, []string(nil), ""},

		{"arn", func(e *Env) any { return e.ARN("T_ARN") }, map[string]string{"T_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:x"}, "arn:aws:secretsmanager:eu-west-1:1:secret:x", ""},
		{"arn bad", func(e *Env) any { return e.ARN("T_ARN") }, map[string]string{"T_ARN": "my-secret"}, "", `T_ARN="my-secret": not an ARN: want Secrets Manager ARN`},

		{"secret value", func(e *Env) any { return e.Secret("T_SECRET") }, map[string]string{"T_SECRET": "v"}, SecretRef{Name: "T_SECRET", Value: "v"}, ""},
		{"secret arn", func(e *Env) any { return e.Secret("T_SECRET") }, map[string]string{"T_SECRET_ARN": "arn:aws:sm:r:1:secret:s"}, SecretRef{Name: "T_SECRET", ARN: "arn:aws:sm:r:1:secret:s"}, ""},
		{"secret unset", func(e *Env) any { return e.Secret("T_SECRET") }, nil, SecretRef{Name: "T_SECRET"}, "T_SECRET is not set: want value in T_SECRET or Secrets Manager ARN in T_SECRET_ARN"},
		{"secret bad arn", func(e *Env) any { return e.Secret("T_SECRET") }, map[string]string{"T_SECRET_ARN": "name"}, SecretRef{Name: "T_SECRET"}, `T_SECRET_ARN="name": not an ARN`},

		{"unregistered", func(e *Env) any { return e.Text("NOPE") }, nil, "", "NOPE is not in the configuration registry"},
		{"wrong parser", func(e *Env) any { return e.Int("T_TEXT") }, nil, int64(0), "T_TEXT is read with the wrong parser"},
		{"not read by this function", func(e *Env) any { return e.Text("T_OTHER") }, map[string]string{"T_OTHER": "x"}, "", "registry does not list it for api"},
		{"lookup not read by this function", func(e *Env) any { return e.Lookup("T_OTHER") }, map[string]string{"T_OTHER": "x"}, "", ""},
		{"lookup required", func(e *Env) any { return e.Lookup("T_REQ") }, nil, "", "T_REQ is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEnv(API, envOf(tt.env))
			got := tt.read(e)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("read(%v) = %#v, want %#v", tt.env, got, tt.want)
			}
			err := e.Err()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Err() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Err() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestEnvErrCollectsEveryProblem(t *testing.T) {
	testRegistry(t)
	e := NewEnv(API, envOf(map[string]string{"T_INT": "x", "T_DUR": "5"}))
	e.Text("T_REQ")
	e.Int("T_INT")
	e.Duration("T_DUR")
	err := e.Err()
	if err == nil {
		t.Fatal("Err() = nil, want three problems")
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != 3 || !strings.HasPrefix(err.Error(), "api configuration: ") {
		t.Errorf("Err() = %q, want \"api configuration: \" and 3 lines", err)
	}
}

// A required variable of one function is optional for another.
func TestEnvRequiredPerFunction(t *testing.T) {
	testRegistry(t)
	e := NewEnv(Health, envOf(nil))
	if got := e.Text("T_REQ"); got != "" || e.Err() != nil {
		t.Errorf("health Text(T_REQ) = %q, %v, want \"\", nil", got, e.Err())
	}
}

func TestSecretRefLoad(t *testing.T) {
	tests := []struct {
		name    string
		ref     SecretRef
		want    string
		wantErr string
	}{
		{"value wins", SecretRef{Name: "S", Value: "direct", ARN: "arn:aws:sm:r:1:secret:s"}, "direct", ""},
		{"unset", SecretRef{Name: "S"}, "", "S: secret not configured"},
		// The ARN path is secrets.Get's (tested there); a failure names the variable.
		{"arn without a client", SecretRef{Name: "S", ARN: "arn:aws:sm:r:1:secret:s"}, "", "S: no Secrets Manager client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ref.Load(context.Background(), nil)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("Load(%+v) = %q, %v, want %q, %q", tt.ref, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := (SecretRef{Name: "S"}).Load(context.Background(), nil); !errors.Is(err, secrets.ErrMissing) {
		t.Errorf("Load(unset) error = %v, want secrets.ErrMissing", err)
	}
}

// Validate with no names reads every variable the registry lists for the function, and
// a variable read twice is reported once.
func TestEnvValidate(t *testing.T) {
	testRegistry(t)
	e := NewEnv(API, envOf(map[string]string{"T_INT": "x", "T_DUR": "5", "T_OTHER": "not api's"}))
	e.Int("T_INT")
	e.Validate()
	e.Int("T_INT")
	err := e.Err()
	if err == nil {
		t.Fatal("Err() = nil, want the problems of T_INT, T_DUR, T_REQ and T_SECRET")
	}
	for _, want := range []string{`T_INT="x"`, `T_DUR="5"`, "T_REQ is not set", "T_SECRET is not set"} {
		if strings.Count(err.Error(), want) != 1 {
			t.Errorf("Err() = %q, want %q once", err, want)
		}
	}
	if strings.Contains(err.Error(), "T_OTHER") || strings.Count(err.Error(), "\n") != 3 {
		t.Errorf("Err() = %q, want 4 lines and nothing about T_OTHER (not read by api)", err)
	}
	e = NewEnv(API, envOf(nil))
	e.Validate("NOPE")
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), "NOPE is not in the configuration registry") {
		t.Errorf("Validate(NOPE) error = %v, want the unknown name", err)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name string
		want string // the registered name, "" for none
	}{
		{GitHubWebhookSecret, GitHubWebhookSecret},
		{GitHubWebhookSecret + "_ARN", GitHubWebhookSecret},
		{GitHubAppRegistration, GitHubAppRegistration},
		{QueueURL + "_ARN", ""},
		{"NOPE", ""},
	}
	for _, tt := range tests {
		got := ""
		if v, ok := Lookup(tt.name); ok {
			got = v.Name
		}
		if got != tt.want {
			t.Errorf("Lookup(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A SecretRef never shows its value, however it is printed or logged.
func TestSecretRefHidesValue(t *testing.T) {
	var logs bytes.Buffer
	ref := SecretRef{Name: "S", Value: "hunter2"}
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "secret", ref)
	for _, out := range []string{fmt.Sprint(ref), fmt.Sprintf("%+v", ref), fmt.Sprintf("%#v", ref), logs.String()} {
		if strings.Contains(out, "hunter2") || !strings.Contains(out, "S (value given)") {
			t.Errorf("printed SecretRef = %s, want \"S (value given)\" and no value", out)
		}
	}
	if got := (SecretRef{Name: "S", ARN: "arn:aws:sm:r:1:secret:s"}).String(); got != "S_ARN=arn:aws:sm:r:1:secret:s" {
		t.Errorf("String(ARN ref) = %q, want S_ARN=arn:aws:sm:r:1:secret:s", got)
	}
}
