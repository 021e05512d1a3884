package samtemplate

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// waitLimit bounds the wait for a new table to become ACTIVE.
const waitLimit = 30 * time.Second

// waitDelays polls a new table every few milliseconds instead of the SDK's default 20 s
// or more: the stand-in makes a table ACTIVE at once, but often after the first
// DescribeTable, which made creating the template's tables take about ten seconds.
func waitDelays(o *dynamodb.TableExistsWaiterOptions) {
	o.MinDelay = 10 * time.Millisecond
	o.MaxDelay = 500 * time.Millisecond
}
