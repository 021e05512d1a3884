// Package devstack runs the whole pipeline on one machine, offline, from real parts:
// dynalite (DynamoDB) and fauxqs (SQS) through pkg/local/standin, every function's real
// bootstrap under the Lambda Runtime Interface Emulator (lambdarie), a local HTTP API
// (gateway) with a stand-in for the front end's installation page (relay.go), an SQS
// event source mapping (poller), a CloudWatch stand-in (pkg/local/cwlocal)
// fed with the functions' EMF lines, and the GitHub sandbox (pkg/local/ghsandbox) — all wired
// from template.yaml through pkg/local/samtemplate, so the tables, queues, routes, triggers and
// environment are the deployment's, not a second hand-kept list.
//
// State lives under .devstack: DynamoDB and SQS data, keys, secrets, logs and the
// sandbox's repositories, so a restart keeps everything.
//
// ../README.md (pkg/local/README.md) is the operator's guide to the stack: what runs
// where, secrets and tokens, troubleshooting, and the end-to-end test.
package devstack
