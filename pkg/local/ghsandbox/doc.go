// Package ghsandbox is a fake GitHub for one GitHub App. It serves the REST and web
// endpoints the App uses (App JWT, installation tokens, repository contents and git trees,
// installations, the installation covering a repository, a user's permission on a
// repository, OAuth code exchange, the App manifest flow, hook deliveries) and checks
// credentials the way GitHub does, so the code under test fails here where it would fail
// on github.com.
//
// Repositories are directories on disk: <Root>/<owner>/<repo>/<path>. Branch main of a
// repository is the files on disk; its head commit SHA is a hash of the tree and its date
// the newest modification time, so writing a file moves the head.
//
// With Options.WebhookURL set it also sends the App's webhooks as GitHub does: a push for
// every change of the files under the root (a watcher, unless Options.NoWatch),
// installation_repositories for repository folders added or removed, issues and
// pull_request for the issues and pull requests opened and closed through it, each signed,
// recorded for GET /app/hook/deliveries and sent again by a redelivery.
//
// Tests start one with NewServer; the local stack serves Handler on a fixed port.
//
// README.md in this folder lists the endpoints, the credential checks and the test
// helpers.
package ghsandbox
