package store

import (
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
	return &Store{db: dynamo.NewFromIface(client), tables: tables, now: time.Now}
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
