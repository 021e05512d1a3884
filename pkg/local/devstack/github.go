package devstack

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/jwtauth"
)

// GitHubAppFromEnv returns the real GitHub App configured in the environment, or nil for
// the sandbox. A real App needs GITHUB_APP_ID and its key (GITHUB_APP_PRIVATE_KEY, the
// PEM, or GITHUB_APP_PRIVATE_KEY_FILE, its path); GITHUB_API_URL and GITHUB_WEB_URL,
// when set, point at GitHub Enterprise Server, else github.com is used. GITHUB_CLIENT_ID,
// GITHUB_CLIENT_SECRET, GITHUB_APP_SLUG and GITHUB_WEBHOOK_SECRET complete it.
func GitHubAppFromEnv() (*GitHubApp, error) {
	id := os.Getenv("GITHUB_APP_ID")
	if id == "" {
		return nil, nil
	}
	key := []byte(os.Getenv("GITHUB_APP_PRIVATE_KEY"))
	if f := os.Getenv("GITHUB_APP_PRIVATE_KEY_FILE"); len(key) == 0 && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("GITHUB_APP_PRIVATE_KEY_FILE: %w", err)
		}
		key = b
	}
	if len(key) == 0 {
		return nil, errors.New("GITHUB_APP_ID is set without GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE: set both for a real GitHub App, or neither for the sandbox")
	}
	return &GitHubApp{
		AppID:         id,
		PrivateKey:    key,
		ClientID:      os.Getenv("GITHUB_CLIENT_ID"),
		ClientSecret:  os.Getenv("GITHUB_CLIENT_SECRET"),
		AppSlug:       os.Getenv("GITHUB_APP_SLUG"),
		APIURL:        os.Getenv("GITHUB_API_URL"),
		WebURL:        os.Getenv("GITHUB_WEB_URL"),
		WebhookSecret: os.Getenv("GITHUB_WEBHOOK_SECRET"),
	}, nil
}

// SignToken signs a bearer token for user with the stack's key under stateDir, which the
// running stack (and any later one on the same state) accepts.
func SignToken(stateDir, user string, ttl time.Duration) (string, error) {
	key, err := jwtauth.LoadOrCreateKey(state{dir: stateDir}.path(fileJWTKey))
	if err != nil {
		return "", err
	}
	return key.Sign(jwtauth.Token{
		Issuer: JWTIssuer, Audience: []string{JWTAudience}, Subject: user, TTL: ttl,
		Extra: map[string]any{"username": user},
	})
}

// startGitHub starts the GitHub sandbox, or checks the real App's configuration.
func (s *Stack) startGitHub(addr string) error {
	res := &s.Info.Resources
	res.Parameters = map[string]string{
		"JwtIssuer":   JWTIssuer,
		"JwtAudience": JWTAudience,
		// The relay page stands in for the front end (with a real App too: set the App's
		// setup and callback URL to it).
		"InstallSetupUrl": s.Info.GatewayURL + RelayPath,
	}
	if gh := s.opts.GitHub; gh != nil {
		s.Info.GitHubMode = ModeGitHub
		s.Info.GitHubAPIURL = firstNonEmpty(gh.APIURL, "https://api.github.com/")
		s.Info.GitHubWebURL = firstNonEmpty(gh.WebURL, "https://github.com/")
		res.Parameters["GitHubAppId"] = gh.AppID
		res.Parameters["GitHubClientId"] = gh.ClientID
		res.Parameters["GitHubAppSlug"] = gh.AppSlug
		res.Parameters["GitHubApiUrl"] = s.Info.GitHubAPIURL
		res.Parameters["GitHubWebUrl"] = s.Info.GitHubWebURL
		s.con.progress("github: using the GitHub App %s at %s (no sandbox)", gh.AppID, s.Info.GitHubAPIURL)
		return nil
	}
	s.Info.GitHubMode = ModeSandbox
	root := s.st.path(dirGitHub)
	seeded, err := seedDemo(root)
	if err != nil {
		return err
	}
	key, err := s.st.appKey()
	if err != nil {
		return err
	}
	secret, err := s.st.webhookSecret()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	url := "http://" + ln.Addr().String() + "/"
	// Like GitHub, the sandbox sends the App's webhooks to the HTTP API, signed with the
	// webhook secret: for edits of the files under root (unless NoWatch), issues and pull
	// requests opened through it, and redeliveries.
	log := s.con.logger("github")
	sb, err := ghsandbox.New(ghsandbox.Options{
		Root:          root,
		PrivateKeyPEM: key,
		SetupURL:      s.Info.GatewayURL + RelayPath,
		URL:           url,
		WebhookURL:    s.Info.GatewayURL + "/webhooks/github",
		WebhookSecret: secret,
		NoWatch:       s.opts.NoWatch,
		OnSend:        func(d ghsandbox.Sent) { logSent(log, d) },
	})
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.onClose("github sandbox", func() error { err := srv.Close(); _ = sb.Close(); return err })
	s.Sandbox = sb
	s.Info.GitHubAPIURL, s.Info.GitHubWebURL = url, url
	s.Info.DemoRepo = DemoRepo
	s.Info.Watching = !s.opts.NoWatch
	res.Parameters["GitHubAppId"] = strconv.FormatInt(sb.AppID(), 10)
	res.Parameters["GitHubClientId"] = sb.ClientID()
	res.Parameters["GitHubAppSlug"] = sb.AppSlug()
	res.Parameters["GitHubApiUrl"] = url
	res.Parameters["GitHubWebUrl"] = url
	note := ""
	if seeded {
		note = ", seeded " + DemoRepo
	}
	s.con.progress("github: sandbox on %s (repositories in %s%s)", url, root, note)
	return nil
}

// logSent writes the console line of one delivery the sandbox sent: event, what it is
// about (the paths of a push) and the answer.
func logSent(log *slog.Logger, d ghsandbox.Sent) {
	kind := "delivery"
	if d.Delivery.Redelivery {
		kind = "redelivery"
	}
	event := d.Delivery.Event
	if d.Delivery.Action != "" {
		event += "." + d.Delivery.Action
	}
	answer := d.Delivery.Status
	if d.Err == nil {
		answer = fmt.Sprintf("%d %s", d.Delivery.StatusCode, d.Answer)
	}
	log.Info(fmt.Sprintf("%s %s %s → %s", kind, event, d.Summary, answer), "guid", d.Delivery.GUID)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// appKey is the sandbox App's private key, kept so that a restart keeps the App's
// identity (functions' cached tokens stay valid across a restart of the sandbox alone).
func (st state) appKey() ([]byte, error) {
	p := st.path(fileAppKey)
	if b, err := os.ReadFile(p); err == nil {
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read App key: %w", err)
	}
	// An RSA key in PEM, as GitHub hands an App its key.
	if _, err := jwtauth.LoadOrCreateKey(p); err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// startAuth loads the JWT key and the webhook secret and issues the dev token.
func (s *Stack) startAuth() error {
	var err error
	if s.jwtKey, err = jwtauth.LoadOrCreateKey(s.st.path(fileJWTKey)); err != nil {
		return err
	}
	if gh := s.opts.GitHub; gh != nil && gh.WebhookSecret != "" {
		s.WebhookSecret = gh.WebhookSecret
		if err := writePrivate(s.st.path(fileWebhookSecret), []byte(s.WebhookSecret+"\n")); err != nil {
			return err
		}
	} else if s.WebhookSecret, err = s.st.webhookSecret(); err != nil {
		return err
	}
	if s.RegistrationToken, err = s.st.secretFile(fileRegistrationToken); err != nil {
		return err
	}
	if s.Token, err = s.DevToken(DevUser, DevTokenTTL); err != nil {
		return err
	}
	if err := writePrivate(s.st.path(fileToken), []byte(s.Token+"\n")); err != nil {
		return err
	}
	s.Info.Resources.Secret = s.secret
	return nil
}

// DevToken signs a bearer token for user that the stack's JWT authorizer accepts.
func (s *Stack) DevToken(user string, ttl time.Duration) (string, error) {
	return SignToken(s.opts.StateDir, user, ttl)
}

// secret is the local value of a function secret (NAME of a NAME_ARN variable).
func (s *Stack) secret(name string) (string, error) {
	return localSecret(s.st, s.opts.GitHub, name)
}

// localSecret is the local value of a function secret: the dev webhook secret, the App's
// key and OAuth secret (the sandbox's, or the real App's), or else a random value kept
// under .devstack/secrets.
func localSecret(st state, gh *GitHubApp, name string) (string, error) {
	switch name {
	case "GITHUB_WEBHOOK_SECRET":
		if gh != nil && gh.WebhookSecret != "" {
			return gh.WebhookSecret, nil
		}
		return st.webhookSecret()
	case "GITHUB_APP_PRIVATE_KEY":
		if gh != nil {
			return string(gh.PrivateKey), nil
		}
		key, err := st.appKey()
		return string(key), err
	case "GITHUB_APP_REGISTRATION_TOKEN":
		return st.secretFile(fileRegistrationToken)
	case "GITHUB_CLIENT_SECRET":
		if gh != nil {
			return gh.ClientSecret, nil
		}
		return ghsandbox.DefaultClientSecret, nil
	}
	return st.namedSecret(name)
}
