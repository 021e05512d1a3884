package appmanifest

import (
	"fmt"
	"net/url"
)

// WithInstallPage returns m with GitHub's post-installation redirect — the setup URL,
// and the callback URL, which GitHub uses instead when the App asks for user
// authorization during installation — pointed at the front end's installation page.
// The install callback needs the signed-in user's bearer token, which only the front end
// has: it relays GitHub's query to GET /auth/github/install.
func (m Manifest) WithInstallPage(page string) (Manifest, error) {
	u, err := url.Parse(page)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Manifest{}, fmt.Errorf("installation page %q is not an absolute http(s) URL", page)
	}
	m.SetupURL = u.String()
	m.CallbackURLs = []string{u.String()}
	return m, nil
}
