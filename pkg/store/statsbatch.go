package store

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// statsBatch holds count moves not yet written: per stats item (scope and hour), the
// change of each count. Counting each delivery as it finishes costs two writes (its
// installation's item and the whole log's); a batch of deliveries, mostly of one hour
// and few installations, folds into a write per item instead (see WithBatchedStats).
type statsBatch struct {
	mu    sync.Mutex
	items map[statsItemKey]*statsDelta
}

type statsItemKey struct{ scope, hour string }

type statsDelta struct {
	counts  map[string]int64 // count attribute → change
	expires int64            // the latest expiry of the moves folded in
}

// WithBatchedStats returns a copy of the Store that keeps the event stats' count moves
// in memory until FlushStats writes them, one UpdateItem per stats item touched. The
// processor flushes at the end of each batch, so a delivery's count lands when its
// batch ends rather than when it finishes; should the container die in between, the
// counts of that batch are lost (as a failed count write loses one today) and never
// doubled.
func (s *Store) WithBatchedStats() *Store {
	c := *s
	c.stats = &statsBatch{items: map[statsItemKey]*statsDelta{}}
	return &c
}

// add folds one count move into the batch.
func (b *statsBatch) add(scope, hour string, expires int64, newAttr, oldAttr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := statsItemKey{scope, hour}
	d, ok := b.items[k]
	if !ok {
		d = &statsDelta{counts: map[string]int64{}}
		b.items[k] = d
	}
	d.counts[newAttr]++
	if oldAttr != "" {
		d.counts[oldAttr]--
	}
	d.expires = max(d.expires, expires)
}

// take empties the batch and returns what it held.
func (b *statsBatch) take() map[statsItemKey]*statsDelta {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = map[statsItemKey]*statsDelta{}
	return items
}

// FlushStats writes the count moves batched since the last flush (WithBatchedStats),
// one UpdateItem per stats item, each sent once (an ADD is not idempotent). Failures
// are logged, never returned, as for unbatched counts. Without batching it does
// nothing.
func (s *Store) FlushStats(ctx context.Context) {
	if s.stats == nil {
		return
	}
	items := s.stats.take()
	keys := slices.SortedFunc(maps.Keys(items), func(a, b statsItemKey) int {
		if a.scope != b.scope {
			return cmp.Compare(a.scope, b.scope)
		}
		return cmp.Compare(a.hour, b.hour)
	})
	for _, k := range keys {
		d := items[k]
		expr := "SET #exp = :exp ADD "
		names := map[string]string{"#exp": "expires_at"}
		values := map[string]types.AttributeValue{
			":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(d.expires, 10)},
		}
		n := 0
		for _, attr := range slices.Sorted(maps.Keys(d.counts)) {
			if d.counts[attr] == 0 {
				continue
			}
			if n > 0 {
				expr += ", "
			}
			nk, vk := fmt.Sprintf("#c%d", n), fmt.Sprintf(":c%d", n)
			expr += nk + " " + vk
			names[nk] = attr
			values[vk] = &types.AttributeValueMemberN{Value: strconv.FormatInt(d.counts[attr], 10)}
			n++
		}
		if n == 0 {
			continue
		}
		_, err := s.db.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.tables.EventStats),
			Key: map[string]types.AttributeValue{
				"scope": &types.AttributeValueMemberS{Value: k.scope},
				"hour":  &types.AttributeValueMemberS{Value: k.hour},
			},
			UpdateExpression:          aws.String(expr),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		if err != nil {
			s.logger().WarnContext(ctx, "deliveries not counted in the event stats",
				slog.String("scope", k.scope), slog.String("hour", k.hour), slog.String("err", err.Error()))
		}
	}
}

// statsExpiry is when a count of a delivery received at receivedAt may go.
func statsExpiry(receivedAt time.Time) int64 { return receivedAt.Add(StatsRetention).Unix() }
