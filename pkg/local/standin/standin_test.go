package standin

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/store"
)

func TestStandinsCreateTemplateResources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	db, err := StartDynalite(ctx, Options{})
	if err != nil {
		t.Fatalf("StartDynalite() error = %v", err)
	}
	t.Cleanup(func() { _ = db.Stop() })
	q, err := StartFauxqs(ctx, Options{})
	if err != nil {
		t.Fatalf("StartFauxqs() error = %v", err)
	}
	t.Cleanup(func() { _ = q.Stop() })

	dbCfg, err := db.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ddb := dynamodb.NewFromConfig(dbCfg)
	env, err := CreateTables(ctx, ddb, "t-")
	if err != nil {
		t.Fatalf("CreateTables() error = %v", err)
	}
	tables := store.TablesFrom(func(k string) string { return env[k] })
	for name, got := range map[string]string{"projects": tables.Projects, "events": tables.Events, "states": tables.States} {
		if got == "" {
			t.Errorf("CreateTables() gave no %s table", name)
		}
	}
	listed, err := ddb.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.TableNames) != len(env) {
		t.Errorf("ListTables() = %v, want %d tables", listed.TableNames, len(env))
	}
	// Creating again is a no-op, as the local stack does on every start.
	if _, err := CreateTables(ctx, ddb, "t-"); err != nil {
		t.Errorf("CreateTables() again error = %v", err)
	}

	qCfg, err := q.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sq := sqs.NewFromConfig(qCfg)
	urls, err := CreateQueues(ctx, sq, "t-")
	if err != nil {
		t.Fatalf("CreateQueues() error = %v", err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(urls["EventsQueue"]),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes() error = %v", err)
	}
	if got := attrs.Attributes["VisibilityTimeout"]; got != "180" {
		t.Errorf("VisibilityTimeout = %q, want 180", got)
	}
	if got := attrs.Attributes["RedrivePolicy"]; got == "" {
		t.Errorf("RedrivePolicy missing on EventsQueue")
	}
}
