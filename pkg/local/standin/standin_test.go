package standin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestStandinsCreateTemplateResources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ddb := DynamoDB(t)
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
	if got := prefixed(t, ddb, "t-"); len(got) != len(env) {
		t.Errorf("ListTables() = %v, want %d tables", got, len(env))
	}
	// Creating again is a no-op, as the local stack does on every start.
	if _, err := CreateTables(ctx, ddb, "t-"); err != nil {
		t.Errorf("CreateTables() again error = %v", err)
	}

	sq := SQS(t)
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

func TestSharedAndNewTables(t *testing.T) {
	a, b := SharedTables(t, "same-"), SharedTables(t, "same-")
	if a(config.ProjectsTable) == "" || a(config.ProjectsTable) != b(config.ProjectsTable) {
		t.Errorf("SharedTables(same-) twice = %q and %q, want one set", a(config.ProjectsTable), b(config.ProjectsTable))
	}
	if got := prefixed(t, DynamoDB(t), "same-"); len(got) == 0 {
		t.Errorf("SharedTables(same-) created no table")
	}
	c, d := NewTables(t), NewTables(t)
	if c(config.ProjectsTable) == d(config.ProjectsTable) || c(config.ProjectsTable) == a(config.ProjectsTable) {
		t.Errorf("NewTables() twice = %q and %q, want fresh tables each time", c(config.ProjectsTable), d(config.ProjectsTable))
	}
	first, again := Dynalite(t), Dynalite(t)
	if first != again {
		t.Errorf("Dynalite() twice = %s and %s, want one server per test binary", first.URL, again.URL)
	}
}

// prefixed lists the tables whose names start with prefix.
func prefixed(t *testing.T, ddb *dynamodb.Client, prefix string) []string {
	t.Helper()
	listed, err := ddb.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range listed.TableNames {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// TestDynaliteReturnsRefusedItem: as DynamoDB does, a conditional write refused with
// ReturnValuesOnConditionCheckFailure ALL_OLD carries the stored item in the SDK's
// ConditionalCheckFailedException.Item (dynalite.cjs adds it); without the parameter,
// or when no item is stored, it carries none.
func TestDynaliteReturnsRefusedItem(t *testing.T) {
	ctx := context.Background()
	ddb := DynamoDB(t)
	table := aws.String(store.TablesFrom(NewTables(t)).Events)
	str := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	key := func(id string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{"delivery_id": str(id)}
	}
	stored := map[string]ddbtypes.AttributeValue{"delivery_id": str("done"), "status": str("processed")}
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: stored}); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{"#s": "status"}
	update := func(ret ddbtypes.ReturnValuesOnConditionCheckFailure) error {
		_, err := ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: table, Key: key("done"),
			UpdateExpression:                    aws.String("SET #s = :p"),
			ConditionExpression:                 aws.String("#s <> :s"),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           map[string]ddbtypes.AttributeValue{":p": str("processing"), ":s": str("processed")},
			ReturnValuesOnConditionCheckFailure: ret,
		})
		return err
	}
	put := func(id string) error {
		_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: table, Item: key(id),
			ConditionExpression:                 aws.String("attribute_not_exists(#s)"),
			ExpressionAttributeNames:            names,
			ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
		})
		return err
	}
	tests := []struct {
		name  string
		write func() error
		want  map[string]ddbtypes.AttributeValue
	}{
		{"UpdateItem, ALL_OLD", func() error { return update(ddbtypes.ReturnValuesOnConditionCheckFailureAllOld) }, stored},
		{"UpdateItem, no parameter", func() error { return update("") }, nil},
		{"PutItem, ALL_OLD", func() error { return put("done") }, stored},
		{"UpdateItem, nothing stored", func() error {
			_, err := ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: table, Key: key("absent"),
				UpdateExpression:                    aws.String("SET #s = :p"),
				ConditionExpression:                 aws.String("attribute_exists(#s)"),
				ExpressionAttributeNames:            names,
				ExpressionAttributeValues:           map[string]ddbtypes.AttributeValue{":p": str("processing")},
				ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
			})
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			var ccf *ddbtypes.ConditionalCheckFailedException
			if !errors.As(err, &ccf) {
				t.Fatalf("write error = %v, want ConditionalCheckFailedException", err)
			}
			if got, want := fmt.Sprint(ccf.Item), fmt.Sprint(tt.want); len(ccf.Item) != len(tt.want) ||
				(tt.want != nil && ccf.Item["status"].(*ddbtypes.AttributeValueMemberS).Value != "processed") {
				t.Errorf("ConditionalCheckFailedException.Item = %s, want %s", got, want)
			}
		})
	}
}
