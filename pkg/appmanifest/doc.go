// Package appmanifest is RepoTrackr's GitHub App definition and what registering it
// takes: the App manifest (manifest.json, embedded), filled in with the deployment's URLs;
// the page that posts it to GitHub (the manifest flow, as Probot offers it); the
// conversion of the code GitHub sends back into the App's credentials; and storing those
// credentials in Secrets Manager.
//
// The manifest asks for contents, metadata, issues and pull_requests, all read-only:
// GitHub refuses a manifest whose default events lack the permission that backs them,
// and the issues and pull_request events need those two.
//
// How to register the App (with this flow or by hand) is in ../api/README.md.
package appmanifest
