// Package testkit holds what the tests of several packages share: a settable clock, a
// log buffer safe for concurrent writers, an in-memory Secrets Manager, and the real
// GitHub webhook payloads of testdata/github-payloads (embedded, so a test finds them
// from any working directory).
// Only tests import it; a test in pkg/local checks that no shipped code does.
package testkit
