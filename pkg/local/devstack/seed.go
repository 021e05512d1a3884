package devstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// The demo repository `up` seeds in the GitHub sandbox.
const (
	DemoOwner    = "demo-org"
	DemoRepoName = "demo-app"
	DemoRepo     = DemoOwner + "/" + DemoRepoName
	DemoPlanPath = "docs/plan.md"
)

// demoFiles is the demo repository: a plan of twelve tasks over three phases, three of
// them done, and two dependency manifests.
var demoFiles = map[string]string{
	DemoPlanPath: `# Demo App — delivery plan

RepoTrackr reads this file: every checkbox below is a task, every heading a section.

## Phase 1 — Foundations

- [x] Repository layout, ` + "`go.mod`" + ` and CI
- [x] Sign-in with the company identity provider
- [x] Data model for orders and customers
- [ ] Staging environment with seeded data

## Phase 2 — Checkout

- [ ] Cart service with price rules
- [ ] Payment provider integration
- [ ] Order confirmation e-mails
- [ ] Load test at 200 orders per minute

## Phase 3 — Launch

- [ ] Accessibility review of every page
- [ ] Runbook and on-call rota
- [ ] Production cut-over plan signed off
- [ ] Launch announcement
`,
	"go.mod": `module github.com/demo-org/demo-app

go 1.26

require (
	github.com/go-chi/chi/v5 v5.2.3
	github.com/jackc/pgx/v5 v5.7.6
	github.com/stripe/stripe-go/v82 v82.5.0
)
`,
	"package.json": `{
  "name": "demo-app-web",
  "private": true,
  "version": "0.4.0",
  "dependencies": {
    "react": "^19.2.0",
    "react-dom": "^19.2.0",
    "react-router": "^7.9.4"
  },
  "devDependencies": {
    "typescript": "^5.9.3",
    "vite": "^7.1.9"
  }
}
`,
	"README.md": "# demo-app\n\nThe demo repository of RepoTrackr's local stack (`make dev`). Edit\n`docs/plan.md` and send a push with `make demo`.\n",
}

// seedDemo writes the demo repository under root (<root>/demo-org/demo-app) unless it
// exists, so that edits made to it survive restarts.
func seedDemo(root string) (bool, error) {
	dir := filepath.Join(root, DemoOwner, DemoRepoName)
	if _, err := os.Stat(dir); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("seed demo repository: %w", err)
	}
	for rel, content := range demoFiles {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, fmt.Errorf("seed demo repository: %w", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return false, fmt.Errorf("seed demo repository: %w", err)
		}
	}
	return true, nil
}

var openTask = regexp.MustCompile(`(?m)^(\s*[-*+]\s+)\[ \]`)

// tickTasks marks the first n open tasks of a plan done and returns the new plan and how
// many it ticked.
func tickTasks(plan []byte, n int) ([]byte, int) {
	ticked := 0
	out := openTask.ReplaceAllFunc(plan, func(m []byte) []byte {
		if ticked >= n {
			return m
		}
		ticked++
		r := append([]byte(nil), m[:len(m)-len("[ ]")]...)
		return append(r, "[x]"...)
	})
	return out, ticked
}
