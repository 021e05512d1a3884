// Package processor turns queued GitHub deliveries (pkg/envelope) into project updates
// in DynamoDB (pkg/store): it is the handler of the SQS-triggered processor function.
//
// Processing is idempotent by delivery id and level-triggered. Each delivery is claimed
// in the event log with one conditional write (a lease that expires, so a worker that
// died half-way is taken over); a delivery already done is logged as a duplicate and
// changes nothing. An event is a hint to re-read state, not a diff: a push makes the
// processor read the tracked branch's head, plan and manifests as they are now, and
// installation events re-read the installation. Every write is keyed deterministically
// (snapshots by commit, update log entries by delivery) or guarded by a condition (an
// older commit, pull request or issue state never replaces a newer one), so a retry,
// a duplicate or a late delivery converges to the same state without transactions.
//
// README.md in this folder is the operator's reference: what each event does, the
// idempotency protocol, the tables and keys, the project statuses and the project JSON.
package processor
