package devstack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
)

const envTemplate = `
Parameters:
  JwtIssuer:
    Type: String
  GitHubApiUrl:
    Type: String
    Default: https://api.github.com/
  Retention:
    Type: Number
    Default: 30
  NoDefault:
    Type: String
Globals:
  Function:
    Timeout: 10
    Environment:
      Variables:
        PROJECTS_TABLE: !Ref ProjectsTable
        QUEUE_URL: !Ref EventsQueue
        RETENTION: !Ref Retention
Resources:
  ProjectsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  EventsQueue:
    Type: AWS::SQS::Queue
  WebhookSecret:
    Type: AWS::SecretsManager::Secret
  IngestFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          GITHUB_WEBHOOK_SECRET_ARN: !Ref WebhookSecret
          SECRET_REF: !Ref WebhookSecret
          GITHUB_API_URL: !Ref GitHubApiUrl
          ISSUER: !Ref JwtIssuer
          QUEUE_ARN: !GetAtt EventsQueue.Arn
          QUEUE_NAME: !GetAtt EventsQueue.QueueName
          TABLE_ARN: !GetAtt ProjectsTable.Arn
          SELF: !Sub "${AWS::Region}/${EventsQueue.QueueName}/${!Literal}"
          PLAIN: text
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          X: !Ref NoDefault
`

func testResources() Resources {
	return Resources{
		Region:     "us-east-1",
		Tables:     map[string]string{"ProjectsTable": "repotrackr-ProjectsTable"},
		Queues:     map[string]QueueRes{"EventsQueue": {Name: "repotrackr-EventsQueue", URL: "http://q/000000000000/repotrackr-EventsQueue", ARN: "arn:aws:sqs:us-east-1:000000000000:repotrackr-EventsQueue"}},
		Parameters: map[string]string{"JwtIssuer": "https://local/", "GitHubApiUrl": "http://127.0.0.1:3001/"},
		Endpoints:  map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:3003", "AWS_ENDPOINT_URL_CLOUDWATCH": ""},
		Secret: func(name string) (string, error) {
			if name == "GITHUB_WEBHOOK_SECRET" {
				return "s3cret", nil
			}
			return "", errors.New("unknown secret")
		},
	}
}

func function(t *testing.T, tpl *samtemplate.Template, id string) samtemplate.Function {
	t.Helper()
	for _, f := range tpl.Functions() {
		if f.LogicalID == id {
			return f
		}
	}
	t.Fatalf("no function %s", id)
	return samtemplate.Function{}
}

func TestFunctionEnvResolvesTheTemplateLocally(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(envTemplate))
	if err != nil {
		t.Fatal(err)
	}
	env, err := FunctionEnv(tpl, function(t, tpl, "IngestFunction"), testResources())
	if err != nil {
		t.Fatalf("FunctionEnv() error = %v", err)
	}
	want := map[string]string{
		"PROJECTS_TABLE":            "repotrackr-ProjectsTable",
		"QUEUE_URL":                 "http://q/000000000000/repotrackr-EventsQueue",
		"RETENTION":                 "30",
		"GITHUB_WEBHOOK_SECRET":     "s3cret",
		"SECRET_REF":                "arn:aws:secretsmanager:us-east-1:000000000000:secret:WebhookSecret",
		"GITHUB_API_URL":            "http://127.0.0.1:3001/",
		"ISSUER":                    "https://local/",
		"QUEUE_ARN":                 "arn:aws:sqs:us-east-1:000000000000:repotrackr-EventsQueue",
		"QUEUE_NAME":                "repotrackr-EventsQueue",
		"TABLE_ARN":                 "arn:aws:dynamodb:us-east-1:000000000000:table/repotrackr-ProjectsTable",
		"SELF":                      "us-east-1/repotrackr-EventsQueue/${Literal}",
		"PLAIN":                     "text",
		"AWS_REGION":                "us-east-1",
		"AWS_ENDPOINT_URL_SQS":      "http://127.0.0.1:3003",
		"AWS_ACCESS_KEY_ID":         "local",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	for k, w := range want {
		if got, ok := env[k]; !ok || got != w {
			t.Errorf("env[%s] = %q (set %t), want %q", k, got, ok, w)
		}
	}
	for _, k := range []string{"GITHUB_WEBHOOK_SECRET_ARN", "AWS_ENDPOINT_URL_CLOUDWATCH"} {
		if _, ok := env[k]; ok {
			t.Errorf("env has %s, want it left out", k)
		}
	}
}

func TestFunctionEnvNamesWhatItCannotResolve(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(envTemplate))
	if err != nil {
		t.Fatal(err)
	}
	_, err = FunctionEnv(tpl, function(t, tpl, "BrokenFunction"), testResources())
	if err == nil || !strings.Contains(err.Error(), "NoDefault") || !strings.Contains(err.Error(), "X") {
		t.Errorf("FunctionEnv() error = %v, want one naming the variable and the parameter", err)
	}
	res := testResources()
	res.Secret = func(string) (string, error) { return "", errors.New("vault sealed") }
	if _, err := FunctionEnv(tpl, function(t, tpl, "IngestFunction"), res); err == nil || !strings.Contains(err.Error(), "GITHUB_WEBHOOK_SECRET") {
		t.Errorf("FunctionEnv() with a failing secret error = %v, want one naming the secret", err)
	}
}

// TestProjectTemplateResolves resolves every function of the project's template.yaml, so
// that a variable added there without a local value fails here rather than at `make dev`.
func TestProjectTemplateResolves(t *testing.T) {
	_, tpl := projectTemplate(t)
	res := Resources{
		Region: "us-east-1", Tables: map[string]string{}, Queues: map[string]QueueRes{},
		Parameters: map[string]string{
			"JwtIssuer": JWTIssuer, "JwtAudience": JWTAudience, "GitHubAppId": "1", "GitHubClientId": "c",
			"GitHubApiUrl": "http://gh/", "GitHubWebUrl": "http://gh/", "GitHubAppSlug": "s", "InstallSetupUrl": "http://local" + RelayPath,
		},
		Secret: func(name string) (string, error) { return "value-of-" + name, nil },
	}
	for _, id := range tpl.IDs("AWS::DynamoDB::Table") {
		res.Tables[id] = TablePrefix + id
	}
	for _, id := range tpl.IDs("AWS::SQS::Queue") {
		res.Queues[id] = QueueRes{Name: TablePrefix + id, URL: "http://q/" + id, ARN: "arn:" + id}
	}
	for _, fn := range tpl.Functions() {
		env, err := FunctionEnv(tpl, fn, res)
		if err != nil {
			t.Errorf("FunctionEnv(%s) error = %v", fn.LogicalID, err)
			continue
		}
		for k, v := range env {
			if strings.HasSuffix(k, "_ARN") && strings.Contains(v, ":secretsmanager:") {
				t.Errorf("%s gets %s=%s: a secret ARN no local Secrets Manager serves", fn.Name, k, v)
			}
		}
	}
	routes, err := Routes(tpl, tpl.Functions())
	if err != nil {
		t.Fatalf("Routes() error = %v", err)
	}
	if len(routes) == 0 {
		t.Error("Routes() found no HttpApi route in template.yaml")
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		expr    string
		want    string
		wantErr bool
	}{
		{"rate(10 minutes)", "10m0s", false},
		{"rate(1 hour)", "1h0m0s", false},
		{"rate(2 days)", "48h0m0s", false},
		{"cron(0 12 * * ? *)", "", true},
		{"rate(0 minutes)", "", true},
	}
	for _, tc := range tests {
		got, err := ParseRate(tc.expr)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseRate(%q) error = %v, want error %t", tc.expr, err, tc.wantErr)
			continue
		}
		if err == nil && got.String() != tc.want {
			t.Errorf("ParseRate(%q) = %s, want %s", tc.expr, got, tc.want)
		}
	}
}

func TestTickTasks(t *testing.T) {
	plan := "# P\n- [x] a\n- [ ] b\n  - [ ] c\n* [ ] d\n"
	got, n := tickTasks([]byte(plan), 2)
	want := "# P\n- [x] a\n- [x] b\n  - [x] c\n* [ ] d\n"
	if string(got) != want || n != 2 {
		t.Errorf("tickTasks(plan, 2) = %q, %d, want %q, 2", got, n, want)
	}
	if _, n := tickTasks([]byte("- [x] done\n"), 3); n != 0 {
		t.Errorf("tickTasks(all done) ticked %d, want 0", n)
	}
}

// TestLocalRegistrationToken: the local stack's App registration token is a file under
// .devstack, kept across restarts and long enough for the API to accept.
func TestLocalRegistrationToken(t *testing.T) {
	st := state{dir: t.TempDir()}
	first, err := localSecret(st, nil, "GITHUB_APP_REGISTRATION_TOKEN")
	if err != nil || len(first) < 32 {
		t.Fatalf("localSecret(GITHUB_APP_REGISTRATION_TOKEN) = %q, %v, want a token of 32 bytes or more", first, err)
	}
	b, err := os.ReadFile(filepath.Join(st.dir, fileRegistrationToken))
	if err != nil || strings.TrimSpace(string(b)) != first {
		t.Errorf("%s = %q, %v, want the token", fileRegistrationToken, b, err)
	}
	if again, _ := localSecret(st, nil, "GITHUB_APP_REGISTRATION_TOKEN"); again != first {
		t.Errorf("localSecret after a restart = %q, want %q", again, first)
	}
}

// TestWebhookSecretKept: the dev webhook secret is DevWebhookSecret until the state's
// file says otherwise, and it stays what the file says.
func TestWebhookSecretKept(t *testing.T) {
	st := state{dir: t.TempDir()}
	if got, err := st.webhookSecret(); err != nil || got != DevWebhookSecret {
		t.Fatalf("webhookSecret() = %q, %v, want %q", got, err, DevWebhookSecret)
	}
	if err := os.WriteFile(st.path(fileWebhookSecret), []byte(" changed \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := st.webhookSecret(); err != nil || got != "changed" {
		t.Errorf("webhookSecret() after the file changed = %q, %v, want %q", got, err, "changed")
	}
}
