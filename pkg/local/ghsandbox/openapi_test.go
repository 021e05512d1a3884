package ghsandbox

// This file checks the sandbox's answers against GitHub's own OpenAPI description of its
// REST API (the npm package @octokit/openapi, pinned in pkg/local/standin's lock file and
// installed by `make deps`), so that the sandbox cannot drift from what GitHub answers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// specURL names the description inside the schema compiler; it is never fetched.
const specURL = "https://openapi.invalid/api.github.com.json"

// openAPI is GitHub's REST description with a compiler for the schemas in it.
type openAPI struct {
	doc      map[string]any
	compiler *jsonschema.Compiler

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

var (
	specOnce sync.Once
	spec     *openAPI
	specErr  error
)

// appOperations are the operations the App calls (pkg/ghapp, pkg/appmanifest): only
// their answers, and the schemas those refer to, are compiled.
var appOperations = []struct{ method, template string }{
	{"get", "/app"},
	{"get", "/app/installations"},
	{"get", "/app/installations/{installation_id}"},
	{"post", "/app/installations/{installation_id}/access_tokens"},
	{"get", "/app/hook/deliveries"},
	{"post", "/app/hook/deliveries/{delivery_id}/attempts"},
	{"get", "/installation/repositories"},
	{"get", "/repos/{owner}/{repo}"},
	{"get", "/repos/{owner}/{repo}/installation"},
	{"get", "/repos/{owner}/{repo}/collaborators/{username}/permission"},
	{"get", "/repos/{owner}/{repo}/contents/{path}"},
	{"get", "/repos/{owner}/{repo}/git/blobs/{file_sha}"},
	{"get", "/repos/{owner}/{repo}/git/trees/{tree_sha}"},
	{"get", "/repos/{owner}/{repo}/commits/{ref}"},
	{"get", "/repos/{owner}/{repo}/branches/{branch}"},
	{"get", "/user"},
	{"get", "/user/installations"},
	{"get", "/user/installations/{installation_id}/repositories"},
	{"post", "/app-manifests/{code}/conversions"},
}

// rawDescription is GitHub's description with its parts left undecoded: decoding all
// 13 MB into maps (twice: once here, once in the schema compiler) takes half a minute
// under -race, so only what appOperations reach is decoded.
type rawDescription struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas   map[string]json.RawMessage `json:"schemas"`
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"components"`
}

// loadOpenAPI reads generated/api.github.com.json (the description with $refs; the
// deref'd variant is six times larger) once per test binary.
//
// Schemas are validated by santhosh-tekuri/jsonschema (already in the module graph, so it
// builds offline) rather than by hand. GitHub's description is OpenAPI 3.0.3, whose
// Schema Object is JSON Schema draft 7 plus "nullable"; nullable schemas are rewritten
// into draft 7 (anyOf null) before compiling, and OpenAPI-only keywords (example,
// discriminator, x-*) are unknown keywords draft 7 ignores.
func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	dir := standin.NodePackage(t, "@octokit/openapi")
	specOnce.Do(func() { spec, specErr = readOpenAPI(filepath.Join(dir, "generated", "api.github.com.json")) })
	if specErr != nil {
		t.Fatalf("GitHub OpenAPI description: %v", specErr)
	}
	return spec
}

func readOpenAPI(file string) (*openAPI, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rd rawDescription
	// A Decoder scans the input once; Unmarshal scans it twice (validity, then values).
	if err := json.NewDecoder(f).Decode(&rd); err != nil {
		return nil, fmt.Errorf("decode OpenAPI description: %w", err)
	}
	if !strings.HasPrefix(rd.OpenAPI, "3.0.") {
		return nil, fmt.Errorf("OpenAPI version %q: the nullable rewrite below is for 3.0", rd.OpenAPI)
	}
	decode := func(what string, m json.RawMessage) (any, error) {
		var v any
		if err := json.Unmarshal(m, &v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", what, err)
		}
		return v, nil
	}
	paths := map[string]any{}
	schemas := map[string]any{}
	responses := map[string]any{}
	var pending []any
	for _, op := range appOperations {
		m, ok := rd.Paths[op.template][op.method]
		if !ok {
			return nil, fmt.Errorf("no operation %s %s in GitHub's description", op.method, op.template)
		}
		v, err := decode(op.method+" "+op.template, m)
		if err != nil {
			return nil, err
		}
		item, _ := paths[op.template].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.template] = item
		}
		item[op.method] = v
		pending = append(pending, v)
	}
	pending = append(pending, map[string]any{"$ref": "#/components/schemas/basic-error"})
	// Decode every schema and response the operations refer to, transitively.
	for len(pending) > 0 {
		v := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		for _, ref := range refsIn(v) {
			var kind map[string]any
			var raws map[string]json.RawMessage
			name, ok := strings.CutPrefix(ref, "#/components/schemas/")
			if ok {
				kind, raws = schemas, rd.Components.Schemas
			} else if name, ok = strings.CutPrefix(ref, "#/components/responses/"); ok {
				kind, raws = responses, rd.Components.Responses
			} else {
				continue // examples and parameters are not validated
			}
			if _, done := kind[name]; done {
				continue
			}
			m, ok := raws[name]
			if !ok {
				return nil, fmt.Errorf("dangling reference %s", ref)
			}
			d, err := decode(ref, m)
			if err != nil {
				return nil, err
			}
			kind[name] = d
			pending = append(pending, d)
		}
	}
	doc := map[string]any{
		"openapi":    rd.OpenAPI,
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "responses": responses},
	}
	if err := fixDescription(doc); err != nil {
		return nil, err
	}
	draft7 := deepCopy(doc)
	rewriteNullable(draft7)
	b, err := json.Marshal(draft7)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	c.AssertFormat = true
	if err := c.AddResource(specURL, bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("add OpenAPI description: %w", err)
	}
	return &openAPI{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}, nil
}

// refsIn lists the "$ref" values anywhere in v.
func refsIn(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				out = append(out, r)
			}
			for _, sub := range x {
				walk(sub)
			}
		case []any:
			for _, sub := range x {
				walk(sub)
			}
		}
	}
	walk(v)
	return out
}

// deepCopy copies decoded JSON, so the rewrite for the compiler leaves doc as GitHub
// wrote it.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, sub := range x {
			m[k] = deepCopy(sub)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, sub := range x {
			a[i] = deepCopy(sub)
		}
		return a
	}
	return v
}

// fixDescription corrects the places where GitHub's description contradicts what GitHub
// answers, each for the reason given.
func fixDescription(doc map[string]any) error {
	// GET /app/installations inlines the installation schema with its account as
	// allOf [simple-user, enterprise] (an account that is both a user and an enterprise);
	// GET /app/installations/{id} and every other operation use the installation schema,
	// whose account is anyOf the two, as GitHub answers. Check the list against that.
	op, ok := lookup(doc, "paths", "/app/installations", "get", "responses", "200", "content", "application/json", "schema").(map[string]any)
	if !ok {
		return fmt.Errorf("description changed: no schema for GET /app/installations")
	}
	items, _ := op["items"].(map[string]any)
	account, _ := lookup(items, "properties", "account").(map[string]any)
	if account["allOf"] == nil {
		return fmt.Errorf("description changed: GET /app/installations account is no longer allOf; drop this fix")
	}
	op["items"] = map[string]any{"$ref": "#/components/schemas/installation"}
	return nil
}

// lookup follows keys through nested objects; nil when one is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// rewriteNullable turns every OpenAPI 3.0 schema {..., "nullable": true} into
// {"anyOf": [{"type": "null"}, {...}]}, its draft 7 meaning. Example values are left alone.
func rewriteNullable(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if k == "example" || k == "examples" {
				continue
			}
			x[k] = nullableAnyOf(sub)
		}
	case []any:
		for i, sub := range x {
			x[i] = nullableAnyOf(sub)
		}
	}
}

// nullableAnyOf rewrites what v holds, then v itself when it is a nullable schema.
func nullableAnyOf(v any) any {
	rewriteNullable(v)
	m, ok := v.(map[string]any)
	if !ok || m["nullable"] != true {
		return v
	}
	rest := map[string]any{}
	for k, sub := range m {
		if k != "nullable" {
			rest[k] = sub
		}
	}
	return map[string]any{"anyOf": []any{map[string]any{"type": "null"}, rest}}
}

// pointerEscape escapes one JSON pointer token.
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// genericRefusals are statuses GitHub answers on most operations without documenting
// them on each (bad credentials, a resource the caller cannot see); their bodies are
// GitHub's basic-error.
var genericRefusals = map[int]bool{http.StatusUnauthorized: true, http.StatusNotFound: true}

// responseSchema finds the JSON schema of an operation's answer with status: its JSON
// pointer in the description, or "" when the answer has no JSON body. It fails when the
// description has no such operation or does not list the status.
func (o *openAPI) responseSchema(method, template string, status int) (string, error) {
	paths, _ := o.doc["paths"].(map[string]any)
	item, _ := paths[template].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		return "", fmt.Errorf("no operation %s %s in GitHub's description", method, template)
	}
	responses, _ := op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	ptr := "#/paths/" + pointerEscape(template) + "/" + strings.ToLower(method) + "/responses/" + code
	resp, ok := responses[code].(map[string]any)
	if !ok {
		if !genericRefusals[status] {
			return "", fmt.Errorf("%s %s: GitHub documents no %d answer (it documents %v)", method, template, status, keys(responses))
		}
		return "#/components/schemas/basic-error", nil
	}
	if ref, ok := resp["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/responses/")
		ptr = "#/components/responses/" + pointerEscape(name)
		comps, _ := o.doc["components"].(map[string]any)
		rs, _ := comps["responses"].(map[string]any)
		resp, _ = rs[name].(map[string]any)
	}
	content, _ := resp["content"].(map[string]any)
	for _, mt := range []string{"application/json", "application/scim+json"} {
		if c, ok := content[mt].(map[string]any); ok && c["schema"] != nil {
			return ptr + "/content/" + pointerEscape(mt) + "/schema", nil
		}
	}
	return "", nil
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (o *openAPI) schema(ptr string) (*jsonschema.Schema, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.schemas[ptr]; ok {
		return s, nil
	}
	s, err := o.compiler.Compile(specURL + ptr)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", ptr, err)
	}
	o.schemas[ptr] = s
	return s, nil
}

// check validates one answer of the operation method template: the status is one GitHub
// documents, the JSON body matches the documented schema (required fields, types, enums,
// nullability), and the headers every REST answer carries are there.
func (o *openAPI) check(method, template string, a answer) []string {
	var problems []string
	ptr, err := o.responseSchema(method, template, a.status)
	if err != nil {
		return []string{err.Error()}
	}
	if ptr != "" {
		if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			problems = append(problems, fmt.Sprintf("Content-Type = %q, want application/json; charset=utf-8", ct))
		}
		var body any
		dec := json.NewDecoder(bytes.NewReader(a.body))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			problems = append(problems, fmt.Sprintf("body is not JSON: %v", err))
		} else if s, err := o.schema(ptr); err != nil {
			problems = append(problems, err.Error())
		} else if err := s.Validate(body); err != nil {
			problems = append(problems, fmt.Sprintf("body does not match %s: %s", ptr, leafErrors(err)))
		}
	}
	problems = append(problems, rateHeaderProblems(a.header)...)
	return problems
}

// leafErrors lists the innermost reasons of a validation error, one per line: the
// wrapping "doesn't validate with" lines say nothing a reader needs.
func leafErrors(err error) string {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err.Error()
	}
	var lines []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			lines = append(lines, fmt.Sprintf("\n\tat %q: %s (%s)", e.InstanceLocation, e.Message, e.KeywordLocation))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(lines, "")
}

// rateHeaderProblems checks the X-RateLimit-* headers GitHub puts on every REST answer.
func rateHeaderProblems(h http.Header) []string {
	var problems []string
	for _, name := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset"} {
		v := h.Get(name)
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil || n < 0:
			problems = append(problems, fmt.Sprintf("%s = %q, want a non-negative integer", name, v))
		case name == "X-RateLimit-Reset" && (n < time.Now().Unix()-3600 || n > time.Now().Add(2*time.Hour).Unix()):
			problems = append(problems, fmt.Sprintf("%s = %d, want Unix seconds within the hour", name, n))
		}
	}
	if r := h.Get("X-RateLimit-Resource"); r != "core" {
		problems = append(problems, fmt.Sprintf("X-RateLimit-Resource = %q, want core", r))
	}
	return problems
}

// TestAnswersMatchGitHubOpenAPI sends the sandbox every call the App makes (pkg/ghapp,
// pkg/appmanifest), each in its success and its refusal shapes, and checks each answer
// against GitHub's OpenAPI description.
func TestAnswersMatchGitHubOpenAPI(t *testing.T) {
	api := loadOpenAPI(t)
	s, base := NewServer(t, Options{})
	for p, data := range map[string]string{"README.md": "# plan\n", "docs/plan.md": "- [ ] a\n", "docs/deep/x.txt": "x"} {
		if err := s.WriteFile("sandbox-user", "plan", p, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(s.opts.Root, "sandbox-user", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFile("acme", "tools", "a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	install(t, s, Installation{ID: 7, Account: "acme", AccountType: "Organization", Repos: []string{"acme/tools"}, Users: []string{"sandbox-user"}})
	install(t, s, Installation{ID: 8, Account: "frozen", Suspended: true})
	d := s.AddDelivery(Delivery{StatusCode: 200, Event: "push", InstallationID: 1, RepositoryID: 5, Duration: 0.25})
	s.AddDelivery(Delivery{StatusCode: 502, Event: "installation", Action: "created", InstallationID: 1})
	s.AddManifestCode("manifest-code")

	jwtAuth := goodJWT(t, s, s.now())
	tok := "token " + mint(t, s, base, "1")
	user := "token " + s.IssueUserToken("sandbox-user")
	metaOnly := do(t, "POST", base+"/app/installations/1/access_tokens", jwtAuth, strings.NewReader(`{"permissions":{"metadata":"read"}}`))
	var meta struct {
		Token string `json:"token"`
	}
	metaOnly.json(t, &meta)
	sha, _, err := s.Head("sandbox-user", "plan")
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := s.lookupRepo("sandbox-user", "plan")
	tr, err := s.head(ref)
	if err != nil {
		t.Fatal(err)
	}
	readmeSHA := blobSHA([]byte("# plan\n"))
	repo := "/repos/sandbox-user/plan"
	tests := []struct {
		name, method, path, template, auth, body string
		want                                     int
	}{
		{"app", "GET", "/app", "/app", jwtAuth, "", 200},
		{"app installations", "GET", "/app/installations", "/app/installations", jwtAuth, "", 200},
		{"app installation", "GET", "/app/installations/7", "/app/installations/{installation_id}", jwtAuth, "", 200},
		{"suspended installation", "GET", "/app/installations/8", "/app/installations/{installation_id}", jwtAuth, "", 200},
		{"unknown installation", "GET", "/app/installations/99", "/app/installations/{installation_id}", jwtAuth, "", 404},
		{"app installation bad JWT", "GET", "/app/installations/1", "/app/installations/{installation_id}", "Bearer x.y.z", "", 401},
		{"mint", "POST", "/app/installations/1/access_tokens", "/app/installations/{installation_id}/access_tokens", jwtAuth, "", 201},
		{"mint selected", "POST", "/app/installations/7/access_tokens", "/app/installations/{installation_id}/access_tokens", jwtAuth, `{"repositories":["tools"],"permissions":{"contents":"read"}}`, 201},
		{"mint by id", "POST", "/app/installations/1/access_tokens", "/app/installations/{installation_id}/access_tokens", jwtAuth, fmt.Sprintf(`{"repository_ids":[%d]}`, stableID("repo", "sandbox-user/plan")), 201},
		{"mint uncovered repository", "POST", "/app/installations/7/access_tokens", "/app/installations/{installation_id}/access_tokens", jwtAuth, `{"repositories":["plan"]}`, 422},
		{"mint ungranted permission", "POST", "/app/installations/1/access_tokens", "/app/installations/{installation_id}/access_tokens", jwtAuth, `{"permissions":{"contents":"write"}}`, 422},
		{"mint body of the wrong shape", "POST", "/app/installations/1/access_tokens", "/app/installations/{installation_id}/access_tokens", jwtAuth, `{"repositories":"plan"}`, 422},
		{"mint suspended", "POST", "/app/installations/8/access_tokens", "/app/installations/{installation_id}/access_tokens", jwtAuth, "", 403},
		{"mint unknown installation", "POST", "/app/installations/99/access_tokens", "/app/installations/{installation_id}/access_tokens", jwtAuth, "", 404},
		{"mint bad JWT", "POST", "/app/installations/1/access_tokens", "/app/installations/{installation_id}/access_tokens", "Bearer x.y.z", "", 401},
		{"deliveries", "GET", "/app/hook/deliveries?per_page=1", "/app/hook/deliveries", jwtAuth, "", 200},
		{"deliveries bad cursor", "GET", "/app/hook/deliveries?cursor=nope", "/app/hook/deliveries", jwtAuth, "", 400},
		{"redeliver", "POST", "/app/hook/deliveries/" + strconv.FormatInt(d.ID, 10) + "/attempts", "/app/hook/deliveries/{delivery_id}/attempts", jwtAuth, "", 202},
		{"installation repositories", "GET", "/installation/repositories", "/installation/repositories", tok, "", 200},
		{"installation repositories bad token", "GET", "/installation/repositories", "/installation/repositories", "token ghs_nope", "", 401},
		{"repository", "GET", repo, "/repos/{owner}/{repo}", tok, "", 200},
		{"repository not visible", "GET", "/repos/acme/missing", "/repos/{owner}/{repo}", tok, "", 404},
		{"repository installation", "GET", repo + "/installation", "/repos/{owner}/{repo}/installation", jwtAuth, "", 200},
		{"repository installation none", "GET", "/repos/nobody/none/installation", "/repos/{owner}/{repo}/installation", jwtAuth, "", 404},
		{"permission", "GET", repo + "/collaborators/sandbox-user/permission", "/repos/{owner}/{repo}/collaborators/{username}/permission", tok, "", 200},
		{"permission none", "GET", repo + "/collaborators/stranger/permission", "/repos/{owner}/{repo}/collaborators/{username}/permission", tok, "", 200},
		{"permission not a user", "GET", repo + "/collaborators/-x-/permission", "/repos/{owner}/{repo}/collaborators/{username}/permission", tok, "", 404},
		{"file", "GET", repo + "/contents/README.md", "/repos/{owner}/{repo}/contents/{path}", tok, "", 200},
		{"file at ref", "GET", repo + "/contents/docs/plan.md?ref=main", "/repos/{owner}/{repo}/contents/{path}", tok, "", 200},
		{"directory", "GET", repo + "/contents/docs", "/repos/{owner}/{repo}/contents/{path}", tok, "", 200},
		{"file without contents permission", "GET", repo + "/contents/README.md", "/repos/{owner}/{repo}/contents/{path}", "token " + meta.Token, "", 403},
		{"missing file", "GET", repo + "/contents/nope.md", "/repos/{owner}/{repo}/contents/{path}", tok, "", 404},
		{"unknown ref", "GET", repo + "/contents/README.md?ref=nope", "/repos/{owner}/{repo}/contents/{path}", tok, "", 404},
		{"empty repository contents", "GET", "/repos/sandbox-user/empty/contents/x", "/repos/{owner}/{repo}/contents/{path}", tok, "", 404},
		{"blob", "GET", repo + "/git/blobs/" + readmeSHA, "/repos/{owner}/{repo}/git/blobs/{file_sha}", tok, "", 200},
		{"missing blob", "GET", repo + "/git/blobs/" + strings.Repeat("0", 40), "/repos/{owner}/{repo}/git/blobs/{file_sha}", tok, "", 404},
		{"tree", "GET", repo + "/git/trees/main", "/repos/{owner}/{repo}/git/trees/{tree_sha}", tok, "", 200},
		{"tree recursive", "GET", repo + "/git/trees/" + tr.treeSHA + "?recursive=1", "/repos/{owner}/{repo}/git/trees/{tree_sha}", tok, "", 200},
		{"missing tree", "GET", repo + "/git/trees/" + strings.Repeat("0", 40), "/repos/{owner}/{repo}/git/trees/{tree_sha}", tok, "", 404},
		{"empty repository tree", "GET", "/repos/sandbox-user/empty/git/trees/main", "/repos/{owner}/{repo}/git/trees/{tree_sha}", tok, "", 409},
		{"commit", "GET", repo + "/commits/heads/main", "/repos/{owner}/{repo}/commits/{ref}", tok, "", 200},
		{"commit by SHA", "GET", repo + "/commits/" + sha, "/repos/{owner}/{repo}/commits/{ref}", tok, "", 200},
		{"unknown commit", "GET", repo + "/commits/nope", "/repos/{owner}/{repo}/commits/{ref}", tok, "", 422},
		{"empty repository commit", "GET", "/repos/sandbox-user/empty/commits/heads/main", "/repos/{owner}/{repo}/commits/{ref}", tok, "", 409},
		{"branch", "GET", repo + "/branches/main", "/repos/{owner}/{repo}/branches/{branch}", tok, "", 200},
		{"unknown branch", "GET", repo + "/branches/nope", "/repos/{owner}/{repo}/branches/{branch}", tok, "", 404},
		{"user", "GET", "/user", "/user", user, "", 200},
		{"user bad token", "GET", "/user", "/user", "token gho_nope", "", 401},
		{"user installations", "GET", "/user/installations", "/user/installations", user, "", 200},
		{"user installation repositories", "GET", "/user/installations/7/repositories", "/user/installations/{installation_id}/repositories", user, "", 200},
		{"user installation repositories not visible", "GET", "/user/installations/99/repositories", "/user/installations/{installation_id}/repositories", user, "", 404},
		{"manifest conversion", "POST", "/app-manifests/manifest-code/conversions", "/app-manifests/{code}/conversions", "", "", 201},
		{"manifest conversion used code", "POST", "/app-manifests/manifest-code/conversions", "/app-manifests/{code}/conversions", "", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			var a answer
			if body != nil {
				a = do(t, tt.method, base+tt.path, tt.auth, body, "Content-Type", "application/json")
			} else {
				a = do(t, tt.method, base+tt.path, tt.auth, nil)
			}
			if a.status != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, a.status, a.body, tt.want)
			}
			for _, p := range api.check(tt.method, tt.template, a) {
				t.Errorf("%s %s (%d): %s", tt.method, tt.path, a.status, p)
			}
		})
	}
}

// TestOAuthAnswerMatchesGitHubDocs checks the web flow's code exchange, which GitHub's
// OpenAPI description leaves out (it is served by github.com, not the REST API), against
// GitHub's documentation ("Generating a user access token for a GitHub App" and
// "Troubleshooting OAuth app access token request errors"): with Accept: application/json
// a 200 with access_token, expires_in, refresh_token, refresh_token_expires_in, scope and
// token_type "bearer"; a refusal is also a 200, with error, error_description and
// error_uri; no REST rate-limit headers.
func TestOAuthAnswerMatchesGitHubDocs(t *testing.T) {
	s, base := NewServer(t, Options{StrictOAuthCodes: true})
	s.AddOAuthCode("good", "sandbox-user")
	tests := []struct {
		name, secret, code string
		fields             map[string]string // field: JSON type
		wantError          string
	}{
		{"token", s.ClientSecret(), "good", map[string]string{
			"access_token": "string", "expires_in": "number", "refresh_token": "string",
			"refresh_token_expires_in": "number", "scope": "string", "token_type": "string",
		}, ""},
		{"bad code", s.ClientSecret(), "bad", map[string]string{"error": "string", "error_description": "string", "error_uri": "string"}, "bad_verification_code"},
		{"wrong secret", "nope", "good", map[string]string{"error": "string", "error_description": "string", "error_uri": "string"}, "incorrect_client_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "POST", base+"/login/oauth/access_token", "",
				form("client_id", s.ClientID(), "client_secret", tt.secret, "code", tt.code),
				"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
			if a.status != http.StatusOK {
				t.Fatalf("exchange = %d %s, want 200", a.status, a.body)
			}
			if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if h := a.header.Get("X-RateLimit-Limit"); h != "" {
				t.Errorf("X-RateLimit-Limit = %q on github.com's web flow, want none", h)
			}
			var m map[string]any
			a.json(t, &m)
			for f, typ := range tt.fields {
				got := "missing"
				switch m[f].(type) {
				case string:
					got = "string"
				case float64:
					got = "number"
				}
				if got != typ {
					t.Errorf("field %s is %s, want %s (answer %s)", f, got, typ, a.body)
				}
			}
			if len(m) != len(tt.fields) {
				t.Errorf("answer has %d fields, want %d: %s", len(m), len(tt.fields), a.body)
			}
			if tt.wantError == "" && m["token_type"] != "bearer" {
				t.Errorf("token_type = %v, want bearer", m["token_type"])
			}
			if e, _ := m["error"].(string); e != tt.wantError {
				t.Errorf("error = %q, want %q", e, tt.wantError)
			}
		})
	}
}
