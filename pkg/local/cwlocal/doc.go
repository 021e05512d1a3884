// Package cwlocal is a CloudWatch stand-in for the local stack: it turns the Embedded
// Metric Format lines the functions print into metrics, as CloudWatch Logs does in AWS,
// and answers GetMetricData, PutMetricData and ListMetrics in the protocol the current
// SDK speaks (Smithy RPCv2-CBOR), so that the health function runs the same code
// locally as in AWS, through the SDK's endpoint override (AWS_ENDPOINT_URL_CLOUDWATCH).
//
// AWS/SQS queue metrics (messages visible, age of the oldest message, …) come, in AWS,
// from SQS itself. fauxqs emits none, so the Server reads them from fauxqs's
// non-destructive inspection endpoint (WatchFauxqs): a sample is taken whenever a
// GetMetricData asks for AWS/SQS, and on every tick of Run.
//
// Everything is in memory; one-minute data is kept for 15 days like CloudWatch's.
package cwlocal
