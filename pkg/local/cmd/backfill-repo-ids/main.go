// Command backfill-repo-ids gives every project registered before repository ids were
// kept its repository's GitHub id (store.BackfillRepoIDs): deliveries find projects by
// the id alone, so such a project is not updated until it has one. Run it once per
// deployment, after deploying the version that stopped finding projects by name, with
// AWS credentials that may scan and update the projects table (the SDK's usual chain)
// and the App's identity:
//
//	go run ./pkg/local/cmd/backfill-repo-ids -projects-table NAME -app-id ID -private-key FILE [-api-url URL]
//
// It prints what it did as JSON, naming the projects whose repository GitHub no longer
// shows the installation. Running it again is harmless. Wiring only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "backfill-repo-ids:", err)
		os.Exit(1)
	}
}

func run() error {
	table := flag.String("projects-table", "", "the stack's projects table (its PROJECTS_TABLE)")
	appID := flag.Int64("app-id", 0, "the GitHub App's id")
	keyFile := flag.String("private-key", "", "a file holding the App's private key (PEM)")
	apiURL := flag.String("api-url", "", "GitHub's REST API base URL (default https://api.github.com/)")
	flag.Parse()
	if *table == "" || *appID == 0 || *keyFile == "" {
		return errors.New("-projects-table, -app-id and -private-key are required")
	}
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("read private key: %w", err)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	gh, err := ghapp.New(ghapp.Config{AppID: *appID, PrivateKey: key, APIURL: *apiURL})
	if err != nil {
		return fmt.Errorf("github app client: %w", err)
	}
	st := store.NewFromConfig(cfg, store.Tables{Projects: *table})
	report, err := st.BackfillRepoIDs(ctx, func(ctx context.Context, inst int64, fullName string) (int64, error) {
		owner, name, _ := strings.Cut(fullName, "/")
		r, err := gh.Repository(ctx, inst, owner, name) // follows a rename
		return r.ID, err
	})
	out, merr := json.MarshalIndent(report, "", "  ")
	if merr == nil {
		fmt.Println(string(out))
	}
	return err
}
