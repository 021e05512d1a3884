package devstack

import (
	"embed"
	"net/http"
)

// RelayPath is the local stand-in for RepoTrackr's front end page that GitHub sends the
// browser to after an installation (the template's InstallSetupUrl, the App's setup
// URL). Its script relays GitHub's query to GET /auth/github/install with the user's
// bearer token, which it takes from the URL fragment (#token=…), the tab's session, or a
// form.
const RelayPath = "/local/github/installed"

// relayScriptPath is the relay page's script, served on its own so that the page's
// Content-Security-Policy allows no inline script.
const relayScriptPath = "/local/github/relay.js"

//go:embed relay/index.html relay/relay.js
var relayFiles embed.FS

// relayCSP: the page runs only its own script and talks only to its own origin (the
// API); nothing may frame it.
const relayCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// withRelay serves the relay page and its script beside the HTTP API, as a front end
// would sit beside it on one origin.
func withRelay(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	serve := func(name, contentType string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := relayFiles.ReadFile(name)
			if err != nil {
				http.Error(w, "relay page missing", http.StatusInternalServerError)
				return
			}
			h := w.Header()
			h.Set("Content-Type", contentType)
			h.Set("Cache-Control", "no-store")
			// The query holds the state and the OAuth code: no Referer carries them on.
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Security-Policy", relayCSP)
			h.Set("X-Content-Type-Options", "nosniff")
			_, _ = w.Write(b)
		}
	}
	mux.HandleFunc("GET "+RelayPath, serve("relay/index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET "+relayScriptPath, serve("relay/relay.js", "text/javascript; charset=utf-8"))
	mux.Handle("/", api)
	return mux
}
