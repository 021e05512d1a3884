// Package api is the handler of the API function: the GitHub App's registration (the
// manifest flow), its installation flow (a signed, single-use state; the setup URL
// callback checked against the user's own GitHub token), the caller's installations,
// the projects API, and the delivery history routes (served by an injected handler).
//
// Authenticated routes take the caller from the JWT authorizer's `sub` claim
// (httpapi.Subject); a caller only ever sees their own installations and projects, and
// another user's project is "not found". Every error becomes a status code in one place
// (httpapi.StatusOf); every App interaction writes one audit log line (audit=true) that
// names who and what and never holds a token, code or secret.
//
// README.md in this folder is the reference of the routes and their answers, the
// installation and manifest flows, the audit actions and the function's configuration.
package api
