package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
	"github.com/repotrackr/github-integration/pkg/config"
)

// Hourly delivery counts (the event stats table). Each delivery is counted once, in the
// hour it was received, by event type and the final status it has now (processed,
// ignored, failed or duplicate), in two scopes: the whole log ("all") and its
// installation. Deliveries still queued or being processed are not counted.
//
// A count moves only on the conditional write that takes a delivery into a final
// status (CompleteEvent, FailEvent: status processing and the claim's attempt number;
// PutDuplicateEvent: the entry did not exist), which succeeds once per attempt, so a
// retried status write cannot count twice. The write of the counts themselves is sent
// once, without the SDK's retries (an ADD is not idempotent): should it fail, the
// delivery goes uncounted and a warning says so, rather than counted twice. A delivery
// that failed and later succeeds moves from failed to its new status.

// statsScopeAll is the scope of the whole log's counts.
const statsScopeAll = "all"

// StatsRetention is how long hourly counts are kept: the stats route reads at most a
// week back.
const StatsRetention = 8 * 24 * time.Hour

// MaxStatsScopes bounds the scopes one CountEvents call reads: one Query each.
const MaxStatsScopes = 9

// ErrTooManyScopes is a CountEvents call over more than MaxStatsScopes installations.
var ErrTooManyScopes = errors.New("too many installations to count at once")

// statsScope is the counts' partition of an installation.
func statsScope(installationID int64) string {
	return "installation#" + strconv.FormatInt(installationID, 10)
}

// HourKey is the stats table's sort key of the hour holding t.
func HourKey(t time.Time) string { return TimeKey(t.UTC().Truncate(time.Hour)) }

// countAttr names the count of one event type and status: "n_<type>__<status>".
// Statuses hold no underscore, so the last "__" splits the name. Only letters, digits
// and underscores, so the name needs no placeholder quirks in expressions.
func countAttr(eventType, status string) string { return "n_" + eventType + "__" + status }

func parseCountAttr(name string) (eventType, status string, ok bool) {
	rest, ok := strings.CutPrefix(name, "n_")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "__")
	if i < 0 {
		return "", "", false
	}
	return rest[:i], rest[i+2:], true
}

// countedEvent is what a status transition needs of the entry as it was before.
type countedEvent struct {
	EventType      string    `dynamo:"event_type"`
	InstallationID int64     `dynamo:"installation_id"`
	ReceivedAt     time.Time `dynamo:"received_at"`
	Counted        string    `dynamo:"counted"`
}

// countTransition moves a delivery's count from the status it was counted in (empty:
// none) to status, in its installation's scope and the whole log's. Failures are
// logged, never returned: the status itself is written already.
func (s *Store) countTransition(ctx context.Context, ev countedEvent, status string) {
	if s.tables.EventStats == "" || ev.Counted == status || ev.EventType == "" {
		return
	}
	scopes := []string{statsScopeAll}
	if ev.InstallationID != 0 {
		scopes = append(scopes, statsScope(ev.InstallationID))
	}
	if s.stats != nil {
		old := ""
		if ev.Counted != "" {
			old = countAttr(ev.EventType, ev.Counted)
		}
		for _, scope := range scopes {
			s.stats.add(scope, HourKey(ev.ReceivedAt), statsExpiry(ev.ReceivedAt), countAttr(ev.EventType, status), old)
		}
		return
	}
	expr := "SET #exp = :exp ADD #new :one"
	names := map[string]string{"#exp": "expires_at", "#new": countAttr(ev.EventType, status)}
	values := map[string]types.AttributeValue{
		":one": &types.AttributeValueMemberN{Value: "1"},
		":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(ev.ReceivedAt.Add(StatsRetention).Unix(), 10)},
	}
	if ev.Counted != "" {
		expr += ", #old :minus"
		names["#old"] = countAttr(ev.EventType, ev.Counted)
		values[":minus"] = &types.AttributeValueMemberN{Value: "-1"}
	}
	for _, scope := range scopes {
		_, err := s.db.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.tables.EventStats),
			Key: map[string]types.AttributeValue{
				"scope": &types.AttributeValueMemberS{Value: scope},
				"hour":  &types.AttributeValueMemberS{Value: HourKey(ev.ReceivedAt)},
			},
			UpdateExpression:          aws.String(expr),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		if err != nil {
			s.logger().WarnContext(ctx, "delivery not counted in the event stats",
				slog.String("scope", scope), slog.String("status", status), slog.String("err", err.Error()))
		}
	}
}

func (s *Store) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

// WithLogger returns a copy of the Store that logs to l (the event stats' warnings).
func (s *Store) WithLogger(l *slog.Logger) *Store {
	c := *s
	c.log = l
	return &c
}

// EventCounts counts the event log's deliveries since a time.
type EventCounts struct {
	Since    time.Time
	Total    int
	ByStatus map[string]int
	// ByType counts each event type's deliveries by status.
	ByType map[string]map[string]int
}

// CountEvents counts the deliveries received from the hour holding since onwards, by
// event type and final status, from the hourly counts: one Query per scope (the whole
// log when installations is nil, else each installation, at most MaxStatsScopes of
// them: ErrTooManyScopes otherwise), so a week costs as little as an hour.
func (s *Store) CountEvents(ctx context.Context, since time.Time, installations []int64) (EventCounts, error) {
	since = since.UTC().Truncate(time.Hour)
	counts := EventCounts{Since: since, ByStatus: map[string]int{}, ByType: map[string]map[string]int{}}
	if s.tables.EventStats == "" {
		return EventCounts{}, fmt.Errorf("count events: %s not set", config.EventStatsTable)
	}
	scopes := []string{statsScopeAll}
	if installations != nil {
		if len(installations) > MaxStatsScopes {
			return EventCounts{}, fmt.Errorf("count events of %d installations: %w", len(installations), ErrTooManyScopes)
		}
		scopes = scopes[:0]
		seen := map[int64]bool{}
		for _, id := range installations {
			if !seen[id] {
				seen[id] = true
				scopes = append(scopes, statsScope(id))
			}
		}
	}
	for _, scope := range scopes {
		var items []map[string]types.AttributeValue
		err := s.db.Table(s.tables.EventStats).Get("scope", scope).
			Range("hour", dynamo.GreaterOrEqual, HourKey(since)).All(ctx, &items)
		if err != nil {
			return EventCounts{}, fmt.Errorf("count events of %s since %s: %w", scope, HourKey(since), err)
		}
		for _, item := range items {
			for name, v := range item {
				typ, status, ok := parseCountAttr(name)
				nv, isN := v.(*types.AttributeValueMemberN)
				if !ok || !isN {
					continue
				}
				n, err := strconv.Atoi(nv.Value)
				if err != nil || n <= 0 {
					continue
				}
				counts.Total += n
				counts.ByStatus[status] += n
				if counts.ByType[typ] == nil {
					counts.ByType[typ] = map[string]int{}
				}
				counts.ByType[typ][status] += n
			}
		}
	}
	return counts, nil
}
