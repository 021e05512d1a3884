package ghsandbox

import (
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// newClock is a settable test clock at the current second.
func newClock() *testkit.Clock { return testkit.NewClock(time.Now().UTC().Truncate(time.Second)) }

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// writeRepos creates each owner/name repository with a README that names it.
func writeRepos(t *testing.T, s *Sandbox, repos ...string) {
	t.Helper()
	for _, r := range repos {
		owner, name, _ := strings.Cut(r, "/")
		if err := s.WriteFile(owner, name, "README.md", []byte(r)); err != nil {
			t.Fatal(err)
		}
	}
}

// install adds the installation; the sandbox refusing it fails the test.
func install(t *testing.T, s *Sandbox, in Installation) {
	t.Helper()
	if err := s.AddInstallation(in); err != nil {
		t.Fatal(err)
	}
}

// repoPage is what the tests read of a page of repositories (GET
// /installation/repositories, /user/installations/{id}/repositories).
type repoPage struct {
	TotalCount   int `json:"total_count"`
	Repositories []struct {
		FullName string `json:"full_name"`
	} `json:"repositories"`
}

// names lists the page's repositories by full name, in order.
func (p repoPage) names() []string {
	var out []string
	for _, r := range p.Repositories {
		out = append(out, r.FullName)
	}
	return out
}

func (a answer) message(t *testing.T) string {
	t.Helper()
	var m struct {
		Message string `json:"message"`
	}
	a.json(t, &m)
	return m.Message
}

// do sends a request with an optional Authorization header and body.
func do(t *testing.T, method, u, auth string, body io.Reader, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func form(kv ...string) io.Reader {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return strings.NewReader(v.Encode())
}

func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	pemBytes, err := TestKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// appJWT signs claims with key (RS256) as an Authorization header value.
func appJWT(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

// goodJWT is a JWT as ghinstallation makes it, for the sandbox's App at time now.
func goodJWT(t *testing.T, s *Sandbox, now time.Time) string {
	t.Helper()
	return appJWT(t, testKey(t), jwt.MapClaims{
		"iss": s.AppID(), "iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(90 * time.Second).Unix(),
	})
}

// mint mints an installation token through the API.
func mint(t *testing.T, s *Sandbox, base string, id string) string {
	t.Helper()
	a := do(t, "POST", base+"/app/installations/"+id+"/access_tokens", goodJWT(t, s, s.now()), nil)
	if a.status != http.StatusCreated {
		t.Fatalf("mint for installation %s = %d %s, want 201", id, a.status, a.body)
	}
	var tok struct {
		Token string `json:"token"`
	}
	a.json(t, &tok)
	return tok.Token
}
