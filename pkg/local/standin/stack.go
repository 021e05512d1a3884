package standin

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
)

// LoadTemplate reads the project's template.yaml.
func LoadTemplate() (*samtemplate.Template, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	return samtemplate.Load(filepath.Join(root, "template.yaml"))
}

// CreateTables creates every table of template.yaml in the DynamoDB stand-in, each named
// prefix+LogicalID, and returns the functions' table environment variables
// (PROJECTS_TABLE and the rest, as template.yaml's functions name them) mapped to those names.
func CreateTables(ctx context.Context, db *dynamodb.Client, prefix string) (map[string]string, error) {
	tpl, err := LoadTemplate()
	if err != nil {
		return nil, err
	}
	name := func(id string) string { return prefix + id }
	if err := tpl.CreateTables(ctx, db, name); err != nil {
		return nil, err
	}
	env := map[string]string{}
	tables := map[string]bool{}
	for _, id := range tpl.IDs("AWS::DynamoDB::Table") {
		tables[id] = true
	}
	for _, fn := range tpl.Functions() {
		for k, v := range fn.Env {
			if ref, ok := v.(samtemplate.Ref); ok && tables[ref.Name] {
				env[k] = name(ref.Name)
			}
		}
	}
	if len(env) == 0 {
		return nil, fmt.Errorf("template.yaml's functions name no table variables")
	}
	return env, nil
}

// CreateQueues creates every queue of template.yaml in the SQS stand-in, each named
// prefix+LogicalID, with the template's visibility timeout, retention and redrive policy,
// and returns the queue URLs by logical id.
func CreateQueues(ctx context.Context, client *sqs.Client, prefix string) (map[string]string, error) {
	tpl, err := LoadTemplate()
	if err != nil {
		return nil, err
	}
	queues := tpl.Queues()
	urls := map[string]string{}
	arns := map[string]string{}
	// Dead-letter queues first: a redrive policy names its target's ARN.
	ordered := make([]samtemplate.Queue, 0, len(queues))
	for _, q := range queues {
		if q.DeadLetterQueue == "" {
			ordered = append(ordered, q)
		}
	}
	for _, q := range queues {
		if q.DeadLetterQueue != "" {
			ordered = append(ordered, q)
		}
	}
	for _, q := range ordered {
		attrs := map[string]string{
			"VisibilityTimeout":      fmt.Sprint(q.VisibilityTimeout),
			"MessageRetentionPeriod": fmt.Sprint(q.MessageRetentionPeriod),
		}
		if q.DeadLetterQueue != "" {
			dlq, ok := arns[q.DeadLetterQueue]
			if !ok {
				return nil, fmt.Errorf("queue %s: dead-letter queue %s not in template", q.LogicalID, q.DeadLetterQueue)
			}
			attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlq, q.MaxReceiveCount)
		}
		name := prefix + q.LogicalID
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
		if err != nil {
			return nil, fmt.Errorf("create queue %s: %w", name, err)
		}
		urls[q.LogicalID] = *out.QueueUrl
		got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
		if err != nil {
			return nil, fmt.Errorf("queue %s arn: %w", name, err)
		}
		arns[q.LogicalID] = got.Attributes["QueueArn"]
	}
	return urls, nil
}
