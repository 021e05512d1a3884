// Package soak is the soak run behind `make soak`: a fresh local stack (pkg/local/devstack)
// takes thousands of webhook deliveries that the GitHub sandbox sends itself — pushes
// from file edits, issues and pull requests from its endpoints, installation changes
// from repository folders made and removed, and a share sent again through its
// redelivery — while faults hit it: the processor killed mid-batch, GitHub answering
// 5xx and rate limits, DynamoDB and SQS paused. Once the pipeline has drained, Run
// checks that no delivery was lost, done twice or failed, that the dead-letter queue is
// empty and that every project's snapshot is its plan. README.md says how each is
// checked and records a run's figures.
package soak
