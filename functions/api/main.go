// Command api is the API Lambda function (App registration, installation flow,
// installations, projects, delivery history): wiring only; the handler is pkg/api.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/repotrackr/github-integration/pkg/api"
	"github.com/repotrackr/github-integration/pkg/appmanifest"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/history"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/processor"
	"github.com/repotrackr/github-integration/pkg/secrets"
	"github.com/repotrackr/github-integration/pkg/store"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("api stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))

	tables := store.TablesFromEnv()
	if err := tables.Require(
		store.EnvProjectsTable, store.EnvSnapshotsTable, store.EnvUpdatesTable, store.EnvEventsTable,
		store.EnvInstallationsTable, store.EnvUserInstallationsTable, store.EnvStatesTable, store.EnvEventStatsTable); err != nil {
		return err
	}
	// The SDK reads region, credentials and AWS_ENDPOINT_URL(_<SERVICE>) itself; the
	// clients are built once per container.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	st := store.NewFromConfig(cfg, tables)
	em := metrics.New(os.Stdout, os.Getenv("METRICS_NAMESPACE"))

	app := loadApp(ctx, log, sm)
	var (
		gh     api.GitHub
		syncer api.Syncer
	)
	if app.id > 0 && appmanifest.IsPEM(app.key) {
		client, err := ghapp.New(ghapp.Config{
			AppID: app.id, PrivateKey: []byte(app.key),
			APIURL: os.Getenv("GITHUB_API_URL"), WebURL: os.Getenv("GITHUB_WEB_URL"),
			ClientID: app.clientID, ClientSecret: app.clientSecret,
			Logger: log, Metrics: em,
		})
		if err != nil {
			// The registration and read routes still work; the App's routes answer 503.
			log.Error("GitHub App client not built", "err", err)
		} else {
			gh = client
			syncer = processor.New(st, client, processor.Config{Log: log, Metrics: em})
		}
	} else {
		log.Warn("GitHub App not configured: installation and project registration answer 503 until it is")
	}

	var stateKeys [][]byte
	if raw, err := secrets.Load(ctx, sm, "STATE_SIGNING_KEY"); err != nil {
		log.Error("state signing key unavailable: the installation and manifest flows answer 503", "err", err)
	} else {
		// A comma-separated value holds the current key first and older ones after it.
		for _, k := range strings.Split(raw, ",") {
			switch k = strings.TrimSpace(k); {
			case len(k) >= api.MinStateKeyLen:
				stateKeys = append(stateKeys, []byte(k))
			case k != "":
				log.Error("state signing key too short, ignored", "min_bytes", api.MinStateKeyLen)
			}
		}
	}
	regToken, err := secrets.Load(ctx, sm, "GITHUB_APP_REGISTRATION_TOKEN")
	if err != nil {
		log.Warn("no App registration token: the registration routes stay closed", "err", err)
	}
	converter, err := appmanifest.NewConverter(os.Getenv("GITHUB_API_URL"), nil)
	if err != nil {
		return err
	}

	h, err := api.New(api.Config{
		Store:             st,
		GitHub:            gh,
		Syncer:            syncer,
		StateKeys:         stateKeys,
		WebURL:            os.Getenv("GITHUB_WEB_URL"),
		AppSlug:           app.slug,
		InstallSuccessURL: os.Getenv("INSTALL_SUCCESS_URL"),
		Converter:         converter,
		Secrets:           sm,
		SecretTargets:     appmanifest.SecretsFrom(os.Getenv),
		AppConfigured:     app.id > 0 || appmanifest.IsPEM(app.key),
		PublicBaseURL:     os.Getenv("PUBLIC_BASE_URL"),
		AppName:           os.Getenv("GITHUB_APP_NAME"),
		RegistrationToken: regToken,
		History:           history.New(st, history.Config{Admins: history.AdminsFrom(os.Getenv(history.EnvAdmins)), Log: log}).Serve,
		Log:               log,
	})
	if err != nil {
		return err
	}
	lambda.Start(h.Handle)
	return nil
}

// appSettings is the App's identity and credentials as far as they are configured.
type appSettings struct {
	id                int64
	slug, clientID    string
	key, clientSecret string
}

// loadApp reads the App's settings: each from its environment variable, else from the
// registration secret the manifest flow writes (so a freshly registered App works
// before the stack parameters are set). Secrets come from Secrets Manager (NAME_ARN) or
// the environment (NAME, local runs).
func loadApp(ctx context.Context, log *slog.Logger, sm *secretsmanager.Client) appSettings {
	var reg appmanifest.Registration
	if arn := os.Getenv(appmanifest.EnvRegistrationARN); arn != "" {
		var err error
		if reg, err = appmanifest.LoadRegistration(ctx, sm, arn); err != nil {
			log.Error("App registration secret unreadable", "err", err)
		}
	}
	app := appSettings{id: reg.AppID, slug: reg.Slug, clientID: reg.ClientID}
	if v := strings.TrimSpace(os.Getenv("GITHUB_APP_ID")); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			log.Error("GITHUB_APP_ID is not a positive number", "value", v)
		} else {
			app.id = id
		}
	}
	if v := os.Getenv("GITHUB_APP_SLUG"); v != "" {
		app.slug = v
	}
	if v := os.Getenv("GITHUB_CLIENT_ID"); v != "" {
		app.clientID = v
	}
	var err error
	if app.key, err = secrets.Load(ctx, sm, "GITHUB_APP_PRIVATE_KEY"); err != nil && !errors.Is(err, secrets.ErrMissing) {
		log.Error("App private key unreadable", "err", err)
	}
	if app.clientSecret, err = secrets.Load(ctx, sm, "GITHUB_CLIENT_SECRET"); err != nil {
		log.Warn("OAuth client secret unavailable: installation callbacks will fail", "err", err)
	}
	return app
}
