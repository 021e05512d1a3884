package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// startData starts DynamoDB and SQS and creates the template's tables and queues.
func (s *Stack) startData(ctx context.Context, p ports) error {
	dataDir := func(sub string) string {
		if s.opts.Ephemeral {
			return ""
		}
		return s.st.path(sub)
	}
	logs, err := openLog(s.st.path(dirLogs), "standins.log")
	if err != nil {
		return s.fail("setup", err)
	}
	s.logs = append(s.logs, logs)
	s.Info.Resources.Region = standin.Region

	db, dbCfg, err := s.startStandin(ctx, ComponentDynamoDB, "dynalite", standin.StartDynalite,
		standin.Options{Port: portOf(p.dynamo), DataDir: dataDir(dirDynamoDB), Log: logs})
	if err != nil {
		return err
	}
	s.Info.DynamoDBURL = db.URL
	s.DynamoDB = dynamodb.NewFromConfig(dbCfg)
	if _, err := standin.CreateTables(ctx, s.DynamoDB, TablePrefix); err != nil {
		return s.fail("dynamodb tables", fmt.Errorf("%w (if template.yaml changed a table, `make dev-reset` starts afresh)", err))
	}
	s.Info.Resources.Tables = map[string]string{}
	for _, id := range s.tpl.IDs("AWS::DynamoDB::Table") {
		s.Info.Resources.Tables[id] = TablePrefix + id
	}
	s.con.progress("dynamodb: %s, %d tables", db.URL, len(s.Info.Resources.Tables))

	q, qCfg, err := s.startStandin(ctx, ComponentSQS, "fauxqs", standin.StartFauxqs,
		standin.Options{Port: portOf(p.sqs), DataDir: dataDir(dirSQS), Log: logs})
	if err != nil {
		return err
	}
	s.Info.SQSURL = q.URL
	s.SQS = sqs.NewFromConfig(qCfg)
	queues, err := s.createQueues(ctx)
	if err != nil {
		return s.fail("sqs queues", err)
	}
	s.Info.Resources.Queues = queues
	s.con.progress("sqs: %s, %d queues", q.URL, len(queues))
	return nil
}

// Stand-ins Pause takes.
const (
	ComponentDynamoDB = "dynamodb"
	ComponentSQS      = "sqs"
)

// Pause makes a stand-in (ComponentDynamoDB or ComponentSQS) unresponsive, as an AWS
// outage looks to the functions: its process is stopped (SIGSTOP), not ended, so that
// connections hang rather than fail. The returned resume ends the pause; it may be called
// more than once.
func (s *Stack) Pause(component string) (resume func(), err error) {
	srv, ok := s.standins[component]
	if !ok {
		return nil, fmt.Errorf("no stand-in %q to pause", component)
	}
	srv.Pause()
	return srv.Resume, nil
}

// startStandin starts the stand-in name as the stack's component, stopped with the
// stack, and returns it with the AWS configuration that reaches it. A failure is the
// component's StartError, naming the stand-in.
func (s *Stack) startStandin(ctx context.Context, component, name string,
	start func(context.Context, standin.Options) (*standin.Server, error), opts standin.Options) (*standin.Server, aws.Config, error) {
	s.con.progress("%s: starting %s", component, name)
	label := component + " (" + name + ")"
	srv, err := start(ctx, opts)
	if err != nil {
		return nil, aws.Config{}, s.fail(label, s.hintLog(err))
	}
	s.onClose(name, srv.Stop)
	s.standins[component] = srv
	cfg, err := srv.AWSConfig(ctx)
	if err != nil {
		return nil, aws.Config{}, s.fail(label, err)
	}
	return srv, cfg, nil
}

// hintLog points at the stand-ins' log, unless they are not installed at all.
func (s *Stack) hintLog(err error) error {
	if errors.Is(err, standin.ErrNotInstalled) {
		return err
	}
	return fmt.Errorf("%w (see %s)", err, s.st.path(dirLogs+"/standins.log"))
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
