// Package ghapp is RepoTrackr's GitHub App client: App JWT and installation tokens
// (through ghinstallation), repository reads, installations, the OAuth code exchange and
// webhook redelivery, against github.com, GitHub Enterprise Server or the local sandbox
// (pkg/local/ghsandbox). The App manifest conversion, which needs no App credentials,
// is pkg/appmanifest's Converter.
//
// One Client serves a whole process: it keeps one ghinstallation transport (and its
// token) per installation, so a warm Lambda container reuses installation tokens, which
// ghinstallation renews a minute before they expire. Idempotent reads are retried with
// bounded exponential backoff; failures carry a kind (ErrNotFound, ErrNoAccess, ...) and
// IsRetryable. Rate limits follow GitHub's rules per installation: a short wait is slept,
// a long one is returned as a *RateLimitError carrying the wait, and no call is sent
// while it lasts (README.md, "Rate limits"). Every App interaction writes one audit log line; no token, code, key or
// secret is ever logged.
//
// README.md in this folder details the calls, the error kinds, the retry rules and the
// audit actions.
package ghapp
