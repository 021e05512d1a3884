package cwlocal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const namespaceSQS = "AWS/SQS"

// The AWS/SQS metrics the Server derives from fauxqs, with SQS's own names and units.
const (
	SQSMessagesVisible    = "ApproximateNumberOfMessagesVisible"
	SQSMessagesNotVisible = "ApproximateNumberOfMessagesNotVisible"
	SQSMessagesDelayed    = "ApproximateNumberOfMessagesDelayed"
	SQSAgeOfOldestMessage = "ApproximateAgeOfOldestMessage" // seconds
)

// WatchFauxqs makes the Server publish AWS/SQS metrics (dimension QueueName) for every
// queue of the fauxqs at baseURL, read from its inspection endpoint /_fauxqs/queues,
// which never changes a queue's state: no receive counts, no visibility changes. Call it
// before serving.
func (s *Server) WatchFauxqs(baseURL string) {
	s.fauxqsURL = strings.TrimRight(baseURL, "/")
}

// Run samples the watched queues every interval until ctx ends, so that AWS/SQS metrics
// have a history (as SQS reports them every minute) and not only the samples taken when
// GetMetricData asks.
func (s *Server) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_ = s.SampleQueues(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type fauxqsMessage struct {
	SentTimestamp int64 `json:"sentTimestamp"` // epoch milliseconds
}

type fauxqsQueue struct {
	Name     string `json:"name"`
	Messages struct {
		Ready    []fauxqsMessage `json:"ready"`
		Delayed  []fauxqsMessage `json:"delayed"`
		Inflight []struct {
			Message fauxqsMessage `json:"message"`
		} `json:"inflight"`
	} `json:"messages"`
}

// SampleQueues records one sample of every watched queue's AWS/SQS metrics, now.
func (s *Server) SampleQueues(ctx context.Context) error {
	if s.fauxqsURL == "" {
		return nil
	}
	var list []struct {
		Name string `json:"name"`
	}
	if err := s.getJSON(ctx, s.fauxqsURL+"/_fauxqs/queues", &list); err != nil {
		return err
	}
	for _, q := range list {
		var full fauxqsQueue
		if err := s.getJSON(ctx, s.fauxqsURL+"/_fauxqs/queues/"+url.PathEscape(q.Name), &full); err != nil {
			return err
		}
		s.recordQueue(full, s.now().UTC())
	}
	return nil
}

// recordQueue turns a queue's state into SQS's metrics. The age of the oldest message
// counts the messages SQS counts: the ones not yet deleted, visible or in flight;
// delayed messages are not yet in the queue for a consumer.
func (s *Server) recordQueue(q fauxqsQueue, now time.Time) {
	dims := []Dimension{{Name: "QueueName", Value: q.Name}}
	oldest := int64(0)
	consider := func(m fauxqsMessage) {
		if m.SentTimestamp > 0 && (oldest == 0 || m.SentTimestamp < oldest) {
			oldest = m.SentTimestamp
		}
	}
	for _, m := range q.Messages.Ready {
		consider(m)
	}
	for _, m := range q.Messages.Inflight {
		consider(m.Message)
	}
	age := 0.0
	if oldest > 0 {
		age = max(0, now.Sub(time.UnixMilli(oldest)).Truncate(time.Second).Seconds())
	}
	put := func(name string, v float64, unit string) {
		s.Put(Metric{Namespace: namespaceSQS, Name: name, Dimensions: dims}, now, v, unit)
	}
	put(SQSMessagesVisible, float64(len(q.Messages.Ready)), "Count")
	put(SQSMessagesNotVisible, float64(len(q.Messages.Inflight)), "Count")
	put(SQSMessagesDelayed, float64(len(q.Messages.Delayed)), "Count")
	put(SQSAgeOfOldestMessage, age, "Seconds")
}

func (s *Server) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("fauxqs inspection %s: %w", u, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("fauxqs inspection %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fauxqs inspection %s: status %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("fauxqs inspection %s: %w", u, err)
	}
	return nil
}
