package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/guregu/dynamo/v2"
)

// ErrNotFound is returned when an item does not exist.
var ErrNotFound = errors.New("not found")

// Store reads and writes every RepoTrackr table. Its methods live in one file per table.
type Store struct {
	db     *dynamo.DB
	tables Tables
	now    func() time.Time
	log    *slog.Logger // nil: slog.Default()
	stats  *statsBatch  // non-nil: count moves wait for FlushStats (WithBatchedStats)
}

// New returns a Store over the DynamoDB client's tables.
func New(client *dynamodb.Client, tables Tables) *Store {
	if client != nil { // nil: a Store that is built but never called (tests of wiring)
		client = dynamodb.New(client.Options(), func(o *dynamodb.Options) {
			o.APIOptions = append(o.APIOptions, refusedItems(tables.Events))
		})
	}
	return &Store{db: dynamo.NewFromIface(client), tables: tables, now: time.Now}
}

// refusedItems asks DynamoDB, on every conditional UpdateItem of the events table, to
// return the stored entry with a refusal (ReturnValuesOnConditionCheckFailure ALL_OLD;
// it costs no read units). A refused claim then tells a duplicate from a delivery
// claimed elsewhere without a second request (refusedEvent). guregu/dynamo has no
// option for the parameter, hence a step of the SDK client's own, which sets it on the
// request guregu builds.
func refusedItems(events string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("RefusedItems",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if u, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok && u.ConditionExpression != nil && aws.ToString(u.TableName) == events {
					u.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}

// NewFromConfig returns a Store from an SDK config (AWS_ENDPOINT_URL_DYNAMODB applies).
func NewFromConfig(cfg aws.Config, tables Tables) *Store {
	return New(dynamodb.NewFromConfig(cfg), tables)
}

// WithClock returns a copy of the Store that reads time from now (for tests).
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

// Tables returns the table names the Store uses.
func (s *Store) Tables() Tables { return s.tables }

// notFound maps guregu/dynamo's ErrNotFound to the Store's.
func notFound(err error) error {
	if errors.Is(err, dynamo.ErrNotFound) {
		return ErrNotFound
	}
	return err
}
