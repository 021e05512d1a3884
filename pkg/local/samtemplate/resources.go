package samtemplate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Table is an AWS::DynamoDB::Table resource.
type Table struct {
	LogicalID string
	// TTLAttribute is the TimeToLiveSpecification's attribute when enabled.
	TTLAttribute string
	// Input creates the table; TableName is left for the caller to set.
	Input dynamodb.CreateTableInput
}

// Tables returns every DynamoDB table, sorted by logical id.
func (t *Template) Tables() ([]Table, error) {
	var out []Table
	for _, id := range t.IDs("AWS::DynamoDB::Table") {
		p := t.Resources[id].Properties
		tb := Table{LogicalID: id}
		in := &tb.Input
		in.BillingMode = ddbtypes.BillingModePayPerRequest
		for _, a := range list(p["AttributeDefinitions"]) {
			in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
				AttributeName: aws.String(asString(path(a, "AttributeName"))),
				AttributeType: ddbtypes.ScalarAttributeType(asString(path(a, "AttributeType"))),
			})
		}
		in.KeySchema = keySchema(p["KeySchema"])
		if len(in.KeySchema) == 0 {
			return nil, fmt.Errorf("table %s: no KeySchema", id)
		}
		for _, g := range list(p["GlobalSecondaryIndexes"]) {
			proj := ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(asString(path(g, "Projection", "ProjectionType")))}
			for _, k := range list(path(g, "Projection", "NonKeyAttributes")) {
				proj.NonKeyAttributes = append(proj.NonKeyAttributes, asString(k))
			}
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
				IndexName:  aws.String(asString(path(g, "IndexName"))),
				KeySchema:  keySchema(path(g, "KeySchema")),
				Projection: &proj,
			})
		}
		if asString(path(p, "TimeToLiveSpecification", "Enabled")) == "true" {
			tb.TTLAttribute = asString(path(p, "TimeToLiveSpecification", "AttributeName"))
		}
		out = append(out, tb)
	}
	return out, nil
}

func keySchema(v any) []ddbtypes.KeySchemaElement {
	var ks []ddbtypes.KeySchemaElement
	for _, k := range list(v) {
		ks = append(ks, ddbtypes.KeySchemaElement{
			AttributeName: aws.String(asString(path(k, "AttributeName"))),
			KeyType:       ddbtypes.KeyType(asString(path(k, "KeyType"))),
		})
	}
	return ks
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// CreateTables creates every table of the template that does not exist yet, naming each
// with name(logicalID). It is safe to call again on an existing stack.
func (t *Template) CreateTables(ctx context.Context, client *dynamodb.Client, name func(logicalID string) string) error {
	tables, err := t.Tables()
	if err != nil {
		return err
	}
	for _, tb := range tables {
		in := tb.Input
		in.TableName = aws.String(name(tb.LogicalID))
		if _, err := client.CreateTable(ctx, &in); err != nil {
			var inUse *ddbtypes.ResourceInUseException
			if errors.As(err, &inUse) {
				continue
			}
			return fmt.Errorf("create table %s: %w", *in.TableName, err)
		}
		if err := dynamodb.NewTableExistsWaiter(client, waitDelays).Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, waitLimit); err != nil {
			return fmt.Errorf("wait for table %s: %w", *in.TableName, err)
		}
	}
	return nil
}

// Queue is an AWS::SQS::Queue resource.
type Queue struct {
	LogicalID string
	// VisibilityTimeout in seconds (SQS's default 30 when absent).
	VisibilityTimeout int
	// MessageRetentionPeriod in seconds (SQS's default 345600 when absent).
	MessageRetentionPeriod int
	// DeadLetterQueue is the logical id of the redrive target, if any.
	DeadLetterQueue string
	MaxReceiveCount int
}

// Queues returns every SQS queue, sorted by logical id.
func (t *Template) Queues() []Queue {
	var out []Queue
	for _, id := range t.IDs("AWS::SQS::Queue") {
		p := t.Resources[id].Properties
		q := Queue{LogicalID: id, VisibilityTimeout: 30, MessageRetentionPeriod: 345600}
		if n, ok := asInt(p["VisibilityTimeout"]); ok {
			q.VisibilityTimeout = n
		}
		if n, ok := asInt(p["MessageRetentionPeriod"]); ok {
			q.MessageRetentionPeriod = n
		}
		if ga, ok := path(p, "RedrivePolicy", "deadLetterTargetArn").(GetAtt); ok {
			q.DeadLetterQueue = ga.Name
		}
		if n, ok := asInt(path(p, "RedrivePolicy", "maxReceiveCount")); ok {
			q.MaxReceiveCount = n
		}
		out = append(out, q)
	}
	return out
}

// Function is an AWS::Serverless::Function resource.
type Function struct {
	LogicalID string
	// Name is the function's folder under functions/: the logical id less "Function", lower case.
	Name    string
	Timeout int
	// MemorySize in MB, 0 when the function does not set it.
	MemorySize int
	// Env merges Globals.Function.Environment with the function's own; values are
	// strings, Ref, GetAtt or Sub.
	Env    map[string]any
	Events []Event
}

// Event is one trigger of a function.
type Event struct {
	Name string
	Type string // HttpApi, SQS, Schedule, ...
	// HttpApi
	Path, Method string
	Authorizer   string // empty: the API's default (none here); "NONE": public
	// Scopes are the route's Auth.AuthorizationScopes: a token needs one of them.
	Scopes []string
	// SQS
	Queue                 string // logical id
	BatchSize             int
	BatchingWindowSeconds int
	ReportBatchFailures   bool
	// Schedule
	Schedule string
}

// Functions returns every function, sorted by logical id.
func (t *Template) Functions() []Function {
	var out []Function
	for _, id := range t.IDs("AWS::Serverless::Function") {
		p := t.Resources[id].Properties
		f := Function{LogicalID: id, Name: strings.ToLower(strings.TrimSuffix(id, "Function")), Timeout: t.GlobalTimeout, Env: map[string]any{}}
		if n, ok := asInt(p["Timeout"]); ok {
			f.Timeout = n
		}
		f.MemorySize, _ = asInt(p["MemorySize"])
		for k, v := range t.GlobalEnv {
			f.Env[k] = v
		}
		if env, ok := path(p, "Environment", "Variables").(map[string]any); ok {
			for k, v := range env {
				f.Env[k] = v
			}
		}
		events, _ := p["Events"].(map[string]any)
		for _, n := range slices.Sorted(maps.Keys(events)) {
			ev := events[n]
			e := Event{Name: n, Type: asString(path(ev, "Type"))}
			ep := path(ev, "Properties")
			switch e.Type {
			case "HttpApi":
				e.Path = asString(path(ep, "Path"))
				e.Method = strings.ToUpper(asString(path(ep, "Method")))
				e.Authorizer = asString(path(ep, "Auth", "Authorizer"))
				for _, sc := range list(path(ep, "Auth", "AuthorizationScopes")) {
					e.Scopes = append(e.Scopes, asString(sc))
				}
			case "SQS":
				if ga, ok := path(ep, "Queue").(GetAtt); ok {
					e.Queue = ga.Name
				}
				e.BatchSize, _ = asInt(path(ep, "BatchSize"))
				if e.BatchSize == 0 {
					e.BatchSize = 10
				}
				e.BatchingWindowSeconds, _ = asInt(path(ep, "MaximumBatchingWindowInSeconds"))
				for _, rt := range list(path(ep, "FunctionResponseTypes")) {
					if asString(rt) == "ReportBatchItemFailures" {
						e.ReportBatchFailures = true
					}
				}
			case "Schedule", "ScheduleV2":
				e.Schedule = asString(path(ep, "Schedule"))
				if e.Schedule == "" {
					e.Schedule = asString(path(ep, "ScheduleExpression"))
				}
			}
			f.Events = append(f.Events, e)
		}
		out = append(out, f)
	}
	return out
}
