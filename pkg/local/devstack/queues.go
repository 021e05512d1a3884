package devstack

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/local/poller"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// createQueues creates the template's queues (standin.CreateQueues). Queues kept from an
// earlier run whose template attributes changed make CreateQueue refuse, as SQS does;
// their attributes are then brought to the template's and creation is tried again.
func (s *Stack) createQueues(ctx context.Context) (map[string]QueueRes, error) {
	urls, err := standin.CreateQueues(ctx, s.SQS, TablePrefix)
	if isQueueExists(err) {
		if err := s.applyQueueAttributes(ctx); err != nil {
			return nil, err
		}
		urls, err = standin.CreateQueues(ctx, s.SQS, TablePrefix)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]QueueRes{}
	for id, url := range urls {
		if s.opts.VisibilityTimeout > 0 {
			secs := strconv.Itoa(int(s.opts.VisibilityTimeout.Seconds()))
			if _, err := s.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
				QueueUrl:   aws.String(url),
				Attributes: map[string]string{"VisibilityTimeout": secs},
			}); err != nil {
				return nil, fmt.Errorf("queue %s visibility timeout: %w", id, err)
			}
		}
		arn, err := queueARN(ctx, s.SQS, url)
		if err != nil {
			return nil, err
		}
		out[id] = QueueRes{Name: TablePrefix + id, URL: url, ARN: arn}
	}
	return out, nil
}

// apiError is what the SDK's service errors implement (smithy.APIError).
type apiError interface{ ErrorCode() string }

func isQueueExists(err error) bool {
	var ae apiError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "QueueNameExists", "QueueAlreadyExists", "QueueNameExistsException":
		return true
	}
	return false
}

// applyQueueAttributes sets each existing queue's attributes to the template's.
func (s *Stack) applyQueueAttributes(ctx context.Context) error {
	arns := map[string]string{}
	for _, q := range s.tpl.Queues() {
		url, err := s.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(TablePrefix + q.LogicalID)})
		if err != nil {
			continue // not created yet
		}
		if arns[q.LogicalID], err = queueARN(ctx, s.SQS, aws.ToString(url.QueueUrl)); err != nil {
			return err
		}
	}
	for _, q := range s.tpl.Queues() {
		url, err := s.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(TablePrefix + q.LogicalID)})
		if err != nil {
			continue
		}
		attrs := map[string]string{
			"VisibilityTimeout":      strconv.Itoa(q.VisibilityTimeout),
			"MessageRetentionPeriod": strconv.Itoa(q.MessageRetentionPeriod),
		}
		if dlq := arns[q.DeadLetterQueue]; dlq != "" {
			attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlq, q.MaxReceiveCount)
		}
		if _, err := s.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: url.QueueUrl, Attributes: attrs}); err != nil {
			return fmt.Errorf("update queue %s: %w", q.LogicalID, err)
		}
	}
	return nil
}

func queueARN(ctx context.Context, client *sqs.Client, url string) (string, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("queue %s: %w", url, err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}

// queueDepth is ApproximateNumberOfMessages plus ApproximateNumberOfMessagesNotVisible.
func queueDepth(ctx context.Context, client *sqs.Client, url string) (int, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("queue depth %s: %w", url, err)
	}
	n := 0
	for _, k := range []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	} {
		v, _ := strconv.Atoi(out.Attributes[string(k)])
		n += v
	}
	return n, nil
}

// startPollers starts one event source mapping per SQS event of a function.
func (s *Stack) startPollers(ctx context.Context, functions []samtemplate.Function) error {
	for _, fn := range functions {
		for _, e := range fn.Events {
			if e.Type != "SQS" {
				continue
			}
			q, ok := s.Info.Resources.Queues[e.Queue]
			if !ok {
				return fmt.Errorf("%s event %s: queue %q is not in the template", fn.LogicalID, e.Name, e.Queue)
			}
			p, err := poller.New(poller.Config{
				Queue:                   s.SQS,
				QueueURL:                q.URL,
				QueueARN:                q.ARN,
				Region:                  s.Info.Resources.Region,
				Function:                s.Functions[fn.Name],
				BatchSize:               e.BatchSize,
				BatchingWindow:          time.Duration(e.BatchingWindowSeconds) * time.Second,
				ReportBatchItemFailures: e.ReportBatchFailures,
				Pollers:                 2,
				Log:                     s.con.logger("sqs->" + fn.Name),
			})
			if err != nil {
				return err
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				p.Run(ctx)
			}()
			s.con.progress("sqs trigger: %s -> %s (batch %d, window %ds, partial failures %t)", q.Name, fn.Name, e.BatchSize, e.BatchingWindowSeconds, e.ReportBatchFailures)
		}
	}
	return nil
}
