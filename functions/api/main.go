// Command api is the API Lambda function (App registration, installation flow,
// installations, projects, delivery history): wiring only; the handler is pkg/api.
package main

import (
	"cmp"
	"context"
	"errors"

	"github.com/repotrackr/github-integration/pkg/api"
	"github.com/repotrackr/github-integration/pkg/appmanifest"
	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/history"
	"github.com/repotrackr/github-integration/pkg/processor"
	"github.com/repotrackr/github-integration/pkg/secrets"
	"github.com/repotrackr/github-integration/pkg/startup"
	"github.com/repotrackr/github-integration/pkg/store"
)

// setup builds the API handler. Only the tables and well-formed variables are needed to
// start: a missing App, key or state key is logged and its routes answer 503.
func setup(ctx context.Context, d *startup.Deps) (any, error) {
	env, log := d.Env, d.Log
	st := store.NewFromConfig(d.AWS, store.TablesFrom(env.Lookup))
	apiURL, webURL := env.URL(config.GitHubAPIURL), env.URL(config.GitHubWebURL)
	keyRef, clientSecretRef := env.Secret(config.GitHubAppPrivateKey), env.Secret(config.GitHubClientSecret)
	targets := appmanifest.Secrets{
		PrivateKeyARN:    keyRef.ARN,
		WebhookSecretARN: env.Secret(config.GitHubWebhookSecret).ARN,
		ClientSecretARN:  clientSecretRef.ARN,
		RegistrationARN:  env.ARN(config.GitHubAppRegistration),
	}
	app := appSettings{id: env.Int(config.GitHubAppID), slug: env.Text(config.GitHubAppSlug), clientID: env.Text(config.GitHubClientID)}
	app.load(ctx, d, targets.RegistrationARN, keyRef, clientSecretRef)

	var (
		gh     api.GitHub
		syncer api.Syncer
	)
	if app.id > 0 && appmanifest.IsPEM(app.key) {
		client, err := ghapp.New(ghapp.Config{
			AppID: app.id, PrivateKey: []byte(app.key), APIURL: apiURL, WebURL: webURL,
			ClientID: app.clientID, ClientSecret: app.clientSecret,
			Log: log, Metrics: d.Metrics,
		})
		if err != nil {
			// The registration and read routes still work; the App's routes answer 503.
			log.Error("GitHub App client not built", "err", err)
		} else {
			gh = client
			syncer = processor.New(st, client, processor.Config{Log: log, Metrics: d.Metrics})
		}
	} else {
		log.Warn("GitHub App not configured: installation and project registration answer 503 until it is")
	}

	converter, err := appmanifest.NewConverter(apiURL, nil)
	if err != nil {
		return nil, err
	}
	h, err := api.New(api.Config{
		Store:             st,
		GitHub:            gh,
		Syncer:            syncer,
		StateKeys:         stateKeys(ctx, d, env.Secret(config.StateSigningKey)),
		WebURL:            webURL,
		AppSlug:           app.slug,
		InstallSetupURL:   env.URL(config.InstallSetupURL),
		InstallSuccessURL: env.URL(config.InstallSuccessURL),
		Converter:         converter,
		Secrets:           d.Secrets,
		SecretTargets:     targets,
		AppConfigured:     app.id > 0 || appmanifest.IsPEM(app.key),
		PublicBaseURL:     env.URL(config.PublicBaseURL),
		AppName:           env.Text(config.GitHubAppName),
		History:           history.New(st, history.Config{Admins: env.List(config.HistoryAdminSubjects), Log: log}).Serve,
		RegistrationToken: registrationToken(ctx, d, env.Secret(config.GitHubAppRegistrationToken)),
		Log:               log,
	})
	if err != nil {
		return nil, err
	}
	return h.Handle, nil
}

// appSettings is the App's identity and credentials as far as they are configured.
type appSettings struct {
	id                int64
	slug, clientID    string
	key, clientSecret string
}

// load completes the App's settings: an identity the environment leaves empty comes from
// the registration secret the manifest flow writes (so a freshly registered App works
// before the stack parameters are set), and the key and client secret are read. A
// missing or unreadable one is logged: the routes that need it answer 503.
func (app *appSettings) load(ctx context.Context, d *startup.Deps, registrationARN string, keyRef, clientSecretRef config.SecretRef) {
	log := d.Log
	if registrationARN != "" {
		reg, err := appmanifest.LoadRegistration(ctx, d.Secrets, registrationARN)
		if err != nil {
			log.Error("App registration secret unreadable", "err", err)
		}
		app.id = cmp.Or(app.id, reg.AppID)
		app.slug = cmp.Or(app.slug, reg.Slug)
		app.clientID = cmp.Or(app.clientID, reg.ClientID)
	}
	var err error
	if app.key, err = keyRef.Load(ctx, d.Secrets); err != nil && !errors.Is(err, secrets.ErrMissing) {
		log.Error("App private key unreadable", "err", err)
	}
	if app.clientSecret, err = clientSecretRef.Load(ctx, d.Secrets); err != nil {
		log.Warn("OAuth client secret unavailable: installation callbacks will fail", "err", err)
	}
}

// stateKeys reads the state signing keys: a comma-separated value holds the current key
// first and older ones after it. A key that is too short is left out.
func stateKeys(ctx context.Context, d *startup.Deps, ref config.SecretRef) [][]byte {
	log := d.Log
	raw, err := ref.Load(ctx, d.Secrets)
	if err != nil {
		log.Error("state signing key unavailable: the installation and manifest flows answer 503", "err", err)
		return nil
	}
	var keys [][]byte
	for _, k := range config.ParseList(raw) {
		if len(k) < api.MinStateKeyLen {
			log.Error("state signing key too short, ignored", "min_bytes", api.MinStateKeyLen)
			continue
		}
		keys = append(keys, []byte(k))
	}
	return keys
}

// registrationToken is the one-time token that opens the App registration routes; without
// it they stay closed (403), which is the safe default for a stack nobody registered yet.
func registrationToken(ctx context.Context, d *startup.Deps, ref config.SecretRef) string {
	token, err := ref.Load(ctx, d.Secrets)
	if err != nil {
		d.Log.Warn("no App registration token: the registration routes stay closed", "err", err)
		return ""
	}
	return token
}

func main() { startup.Run(config.API, setup) }
