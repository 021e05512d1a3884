// Package api is the handler of the API function: the GitHub App's registration (the
// manifest flow, opened only by the deployment's one-time registration token and closed
// for good once an App is configured; see registration.go), its installation flow (a signed, single-use state; the setup URL
// callback checked against the user's own GitHub token), the caller's installations,
// the projects API, and the delivery history routes (served by an injected handler).
//
// The install callback is authenticated: GitHub sends the browser to the front end
// (Config.InstallSetupURL), which relays GitHub's query with the signed-in user's bearer
// token, and an installation is linked only to the user the state was issued to — so a
// start link sent to someone else links nothing. Registering a project asks GitHub every
// time: the installation must read the repository, and the GitHub user recorded at link
// time must be able to read it now (the App asks for that user's permission on the
// repository); a link GitHub no longer confirms (login gone or reassigned, or the user
// reads none of the installation's repositories) is removed. A repository missing from
// the stored lists is looked up on GitHub (the installation covering it now), so it is
// registrable right after access is granted.
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
