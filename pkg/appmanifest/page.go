package appmanifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"sync"
)

var registerPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("register").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Register the RepoTrackr GitHub App</title></head>
<body>
<h1>Register the RepoTrackr GitHub App</h1>
<p>This posts the App's manifest to GitHub{{if .Org}} for the organization <strong>{{.Org}}</strong>{{end}}.
GitHub shows the App before creating it (you may change its name there), then sends you back
here, and its credentials go straight into this deployment's Secrets Manager secrets.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.ManifestJSON}}">
<p><button type="submit">Create the GitHub App on GitHub</button></p>
</form>
<h2>Manifest</h2>
<pre>{{.PrettyJSON}}</pre>
</body></html>
`))
})

var registeredPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("registered").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GitHub App registered</title></head>
<body>
<h1>GitHub App registered</h1>
<p>The App <strong>{{.Name}}</strong> (id {{.AppID}}, slug <code>{{.Slug}}</code>) exists, and its
private key, webhook secret and OAuth client secret are stored in Secrets Manager.</p>
<p>Every function reads the App from the registration secret at its next start: no second
deployment is needed. Next: <a href="{{.InstallURL}}">install the App</a>.</p>
<p>Optionally pin it in the stack parameters at your next deployment:
<code>GitHubAppId={{.AppID}} GitHubAppSlug={{.Slug}} GitHubClientId={{.ClientID}}</code>.</p>
</body></html>
`))
})

// RegisterPageData fills the manifest flow's page.
type RegisterPageData struct {
	// Action is GitHub's new-App URL with the state (NewAppURL).
	Action   string
	Org      string
	Manifest Manifest
}

// RenderRegisterPage returns the page whose form posts the manifest to GitHub.
func RenderRegisterPage(d RegisterPageData) ([]byte, error) {
	compact, err := json.Marshal(d.Manifest)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	pretty, err := json.MarshalIndent(d.Manifest, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	var b bytes.Buffer
	err = registerPage().Execute(&b, struct {
		Action, Org, ManifestJSON, PrettyJSON string
	}{d.Action, d.Org, string(compact), string(pretty)})
	if err != nil {
		return nil, fmt.Errorf("render register page: %w", err)
	}
	return b.Bytes(), nil
}

// RegisteredPageData fills the page shown once the App exists. It holds nothing secret.
type RegisteredPageData struct {
	Name, Slug, ClientID string
	AppID                int64
	InstallURL           string
}

// RenderRegisteredPage returns the page that confirms the registration.
func RenderRegisteredPage(d RegisteredPageData) ([]byte, error) {
	var b bytes.Buffer
	if err := registeredPage().Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render registered page: %w", err)
	}
	return b.Bytes(), nil
}
