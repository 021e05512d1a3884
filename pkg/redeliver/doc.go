// Package redeliver recovers webhook deliveries that never reached the queue. GitHub does
// not retry a failed delivery by itself, but keeps three days of them and redelivers one on
// request with the same X-GitHub-Delivery, which the processor's idempotency makes safe.
// The job follows GitHub's guide for Apps: list the App's hook deliveries, group the
// attempts by GUID, and ask for a new attempt of every GUID none of whose attempts is OK.
//
// It keeps no state of its own: each run looks back over a fixed window, waits until an
// attempt is old enough that a redelivery already requested has had time to land, and gives
// up on a GUID after MaxAttempts, so that a delivery GitHub can never get through is not
// requested forever.
//
// README.md in this folder gives the rules, the configuration and how to run it by hand.
package redeliver
