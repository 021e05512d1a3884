package processor

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Queue is the SQS call that gives a message back for later; *sqs.Client implements it.
type Queue interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// MaxVisibilityTimeout is SQS's longest visibility timeout.
const MaxVisibilityTimeout = 12 * time.Hour

// giveBackBase is the deferral floor of a message's second receive; each later receive
// multiplies it by giveBackGrowth (see deferral).
const (
	giveBackBase   = 4 * time.Minute
	giveBackGrowth = 4
)

// deferral is how long a rate-limited message stays invisible: GitHub's wait, and from
// its second receive on at least 4 minutes, ×4 per receive (4, 16, 64, 256 min). Every
// receive counts towards the queue's maxReceiveCount (5) even when the message is only
// given back; spreading the receives out so that the first five span over 85 minutes
// lets a delivery outlast a long rate-limit episode (the primary limit's window is an
// hour) without reaching the dead-letter queue, while a short episode delays it by
// about the wait. The receive count travels with the message, so the deferral grows
// even when each receive lands in a new container with no memory of the limit.
func deferral(wait time.Duration, receives int) time.Duration {
	d := wait
	if receives >= 2 {
		floor := giveBackBase
		for i := 2; i < receives && floor < MaxVisibilityTimeout; i++ {
			floor *= giveBackGrowth
		}
		d = max(d, floor)
	}
	// SQS counts whole seconds: round up, so the message never returns before the wait.
	d = (d + time.Second - 1).Truncate(time.Second)
	return min(max(d, time.Second), MaxVisibilityTimeout)
}

// giveBack makes a rate-limited message invisible for its deferral, so that SQS
// delivers it again once GitHub's wait has passed rather than after the queue's
// visibility timeout. The record is reported failed either way; when this fails the
// message returns after the queue's visibility timeout, as any failed record does.
func (p *Processor) giveBack(ctx context.Context, m events.SQSMessage, wait time.Duration) {
	if p.cfg.Queue == nil || p.cfg.QueueURL == "" {
		return
	}
	log := p.log.With(slog.String("sqs_message_id", m.MessageId))
	receives, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	d := deferral(wait, receives)
	_, err := p.cfg.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(p.cfg.QueueURL),
		ReceiptHandle:     aws.String(m.ReceiptHandle),
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		log.Warn("rate-limited delivery not deferred; it returns after the queue's visibility timeout", slog.String("err", err.Error()))
		return
	}
	log.Info("delivery deferred: GitHub rate limit", slog.String("wait", wait.String()),
		slog.String("visibility_timeout", d.String()), slog.Int("receive_count", receives))
}
