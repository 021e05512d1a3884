// Package poller is a local stand-in for Lambda's SQS event source mapping: it long-polls
// a queue, gathers batches by size and batching window, invokes the function with the
// SQSEvent Lambda would send, and deletes what the function handled — all of a batch on
// success, all but the reported failures with ReportBatchItemFailures, nothing when the
// function fails. What is not deleted reappears after the queue's visibility timeout, and
// SQS itself (fauxqs here) moves a message to the dead-letter queue after
// maxReceiveCount receives.
package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
)

// Queue is the SQS calls the poller makes; *sqs.Client implements it.
type Queue interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// Invoker runs the function once with a JSON event.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (*lambdarie.Result, error)
}

// Config configures a Poller.
type Config struct {
	Queue    Queue
	QueueURL string
	// QueueARN and Region fill each record's eventSourceARN and awsRegion.
	QueueARN string
	Region   string
	Function Invoker
	// BatchSize is the most records per invocation (10 when zero).
	BatchSize int
	// BatchingWindow is how long to gather records before invoking with fewer than
	// BatchSize (MaximumBatchingWindowInSeconds); zero invokes with what one receive gives.
	BatchingWindow time.Duration
	// ReportBatchItemFailures: the function answers which records failed.
	ReportBatchItemFailures bool
	// Pollers is how many batches may be in flight at once (1 when zero).
	Pollers int
	// WaitTime is the long-poll wait of each receive (20 s, the maximum, when zero).
	WaitTime time.Duration
	// Log receives one line per batch; nil discards.
	Log *slog.Logger
}

// Poller feeds a queue to a function.
type Poller struct {
	cfg Config
}

// New returns a Poller.
func New(cfg Config) (*Poller, error) {
	if cfg.Queue == nil || cfg.QueueURL == "" || cfg.Function == nil {
		return nil, errors.New("poller: Queue, QueueURL and Function are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 10
	}
	if cfg.Pollers <= 0 {
		cfg.Pollers = 1
	}
	if cfg.WaitTime <= 0 {
		cfg.WaitTime = 20 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg}, nil
}

// Run polls until ctx is done. Receive errors are logged and retried with backoff.
func (p *Poller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range p.cfg.Pollers {
		wg.Go(func() { p.loop(ctx) })
	}
	wg.Wait()
}

// Start runs the poller in the background until ctx is done or stop is called; stop
// returns once Run has, and may be called more than once.
func (p *Poller) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

func (p *Poller) loop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		msgs, err := p.gather(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.cfg.Log.Warn("receive failed", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if len(msgs) > 0 {
			p.Process(ctx, msgs)
		}
	}
}

// gather receives up to BatchSize messages: one long poll, then, within the batching
// window, more receives until the batch is full or the window closes.
func (p *Poller) gather(ctx context.Context) ([]sqstypes.Message, error) {
	msgs, err := p.receive(ctx, p.cfg.BatchSize, p.cfg.WaitTime)
	if err != nil || len(msgs) == 0 || p.cfg.BatchingWindow <= 0 {
		return msgs, err
	}
	deadline := time.Now().Add(p.cfg.BatchingWindow)
	for len(msgs) < p.cfg.BatchSize {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		more, err := p.receive(ctx, p.cfg.BatchSize-len(msgs), left)
		if err != nil {
			// What was received is processed; the error shows on the next receive.
			break
		}
		msgs = append(msgs, more...)
	}
	return msgs, nil
}

func (p *Poller) receive(ctx context.Context, n int, wait time.Duration) ([]sqstypes.Message, error) {
	// SQS waits in whole seconds; a shorter wait within the window polls without waiting
	// and sleeps briefly instead.
	secs := int32(wait / time.Second)
	if secs > 20 {
		secs = 20
	}
	out, err := p.cfg.Queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.cfg.QueueURL),
		MaxNumberOfMessages:         int32(min(n, 10)),
		WaitTimeSeconds:             secs,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", p.cfg.QueueURL, err)
	}
	if len(out.Messages) == 0 && secs == 0 && wait > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(min(wait, 100*time.Millisecond)):
		}
	}
	return out.Messages, nil
}

// Process invokes the function with one batch and deletes what it handled.
func (p *Poller) Process(ctx context.Context, msgs []sqstypes.Message) {
	ev := p.Event(msgs)
	payload, err := json.Marshal(ev)
	if err != nil {
		p.cfg.Log.Error("encode SQS event", "err", err)
		return
	}
	start := time.Now()
	res, err := p.cfg.Function.Invoke(ctx, payload)
	ms := time.Since(start).Milliseconds()
	switch {
	case err != nil:
		p.cfg.Log.Warn("batch not delivered; messages return after the visibility timeout", "records", len(msgs), "err", err)
		return
	case res.FunctionError != "":
		p.cfg.Log.Warn("function failed; batch returns after the visibility timeout", "records", len(msgs), "ms", ms, "error", string(res.Payload))
		return
	}
	done := msgs
	if p.cfg.ReportBatchItemFailures {
		failed, err := batchFailures(res.Payload, msgs)
		if err != nil {
			p.cfg.Log.Warn("invalid batch response; whole batch returns after the visibility timeout", "records", len(msgs), "err", err)
			return
		}
		done = done[:0:0]
		for _, m := range msgs {
			if !failed[aws.ToString(m.MessageId)] {
				done = append(done, m)
			}
		}
		if len(failed) > 0 {
			p.cfg.Log.Info("partial batch failure", "records", len(msgs), "failed", len(failed), "ms", ms)
		}
	}
	if err := p.delete(ctx, done); err != nil {
		p.cfg.Log.Warn("delete handled messages", "err", err)
	}
	p.cfg.Log.Debug("batch processed", "records", len(msgs), "deleted", len(done), "ms", ms)
}

// batchFailures reads an SQSEventResponse. As Lambda does, an empty answer means no
// failure, and an item identifier that is empty or not in the batch makes the whole
// answer invalid.
func batchFailures(payload []byte, msgs []sqstypes.Message) (map[string]bool, error) {
	if len(payload) == 0 || string(payload) == "null" {
		return nil, nil
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, fmt.Errorf("decode batch response: %w", err)
	}
	in := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		in[aws.ToString(m.MessageId)] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		id := aws.ToString(f.ItemIdentifier)
		if id == "" || !in[id] {
			return nil, fmt.Errorf("itemIdentifier %q is not a message of the batch", id)
		}
		failed[id] = true
	}
	return failed, nil
}

func (p *Poller) delete(ctx context.Context, msgs []sqstypes.Message) error {
	var errs []error
	for i := 0; i < len(msgs); i += 10 {
		chunk := msgs[i:min(i+10, len(msgs))]
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(chunk))
		for j, m := range chunk {
			entries[j] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), ReceiptHandle: m.ReceiptHandle}
		}
		out, err := p.cfg.Queue.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.cfg.QueueURL), Entries: entries})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range out.Failed {
			errs = append(errs, fmt.Errorf("delete entry %s: %s", aws.ToString(f.Id), aws.ToString(f.Message)))
		}
	}
	return errors.Join(errs...)
}

// Event builds the SQSEvent Lambda sends for msgs.
func (p *Poller) Event(msgs []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             map[string]string{},
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         p.cfg.QueueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              p.cfg.Region,
		}
		for k, v := range m.Attributes {
			rec.Attributes[k] = v
		}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{
				DataType:         aws.ToString(v.DataType),
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: nonNil(v.StringListValues),
				BinaryListValues: nonNilBytes(v.BinaryListValues),
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// Lambda writes empty lists, not null, for the list values.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilBytes(s [][]byte) [][]byte {
	if s == nil {
		return [][]byte{}
	}
	return s
}
