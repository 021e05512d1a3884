package samtemplate

import (
	"fmt"
	"os"
	pathpkg "path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Grant is one action on one resource that a function's Policies allow; Resource is a
// logical id ("EventsTable"), an index of one ("EventsTable/index/by_time", or
// "EventsTable/index/*"), or "*".
type Grant struct{ Action, Resource string }

// policyTemplates are the SAM policy templates the template uses, as SAM expands them
// (samtranslator's policy_templates.json): the action and the parameter naming the
// resource.
var policyTemplates = map[string]struct{ actions, param string }{
	"SQSSendMessagePolicy":                  {"sqs:SendMessage*", "QueueName"},
	"AWSSecretsManagerGetSecretValuePolicy": {"secretsmanager:GetSecretValue", "SecretArn"},
}

// Grants returns what fn's Policies allow.
func (t *Template) Grants(fn string) ([]Grant, error) {
	var out []Grant
	for _, p := range list(t.Resources[fn].Properties["Policies"]) {
		m, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: policy %v: only inline statements and policy templates are compared", fn, p)
		}
		if stmts, ok := m["Statement"]; ok {
			for _, s := range list(stmts) {
				if asString(path(s, "Effect")) != "Allow" {
					return nil, fmt.Errorf("%s: statement %v: only Allow statements are compared", fn, s)
				}
				for _, a := range strings1(path(s, "Action")) {
					for _, r := range resources1(path(s, "Resource")) {
						out = append(out, Grant{Action: a, Resource: r})
					}
				}
			}
			continue
		}
		for name, params := range m {
			pt, ok := policyTemplates[name]
			if !ok {
				return nil, fmt.Errorf("%s: policy template %s: add its expansion to policyTemplates", fn, name)
			}
			for _, r := range resources1(path(params, pt.param)) {
				out = append(out, Grant{Action: pt.actions, Resource: r})
			}
		}
	}
	return out, nil
}

func strings1(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	for _, x := range list(v) {
		out = append(out, asString(x))
	}
	return out
}

// resources1 names each resource by its logical id: !GetAtt X.Arn and !Ref X are X,
// !Sub "${X.Arn}/index/name" is X/index/name.
func resources1(v any) []string {
	switch r := v.(type) {
	case string:
		return []string{r}
	case Ref:
		return []string{r.Name}
	case GetAtt:
		return []string{r.Name}
	case Sub:
		s := r.Format
		if strings.HasPrefix(s, "${") {
			if end := strings.Index(s, "}"); end > 0 {
				id, _, _ := strings.Cut(s[2:end], ".")
				return []string{id + s[end+1:]}
			}
		}
		return []string{s}
	}
	var out []string
	for _, x := range list(v) {
		out = append(out, resources1(x)...)
	}
	return out
}

// covers reports whether a grant pattern (IAM's * wildcard) covers a used name; an
// untracked use resource ("") is covered by any grant of the action.
func covers(pattern, name string) bool {
	if name == "" || pattern == "*" || pattern == name {
		return true
	}
	ok, _ := pathpkg.Match(pattern, name)
	return ok && !strings.Contains(name, "*")
}

// policyProblems compares fn's Policies with the operations its code can reach: a call
// that no statement allows (AccessDenied in AWS), a grant no code uses (privilege the
// function does not need), or a call whose resource the analysis cannot tell. uses lists
// what the code calls, for the log.
func policyProblems(tpl *Template, ix *sdkIndex, fn Function) (problems, uses []string) {
	env := map[string]string{}
	for k, v := range fn.Env {
		if r, ok := v.(Ref); ok {
			env[k] = r.Name
		}
	}
	calls, unresolved := ix.Uses(modulePath+"/functions/"+fn.Name, env)
	problems = append(problems, unresolved...)
	if len(calls) == 0 {
		return append(problems, "no AWS operation found in its code: the analysis lost the call graph"), nil
	}
	grants, err := tpl.Grants(fn.LogicalID)
	if err != nil {
		return append(problems, err.Error()), nil
	}
	for _, u := range calls {
		uses = append(uses, u.Action+" "+u.Resource)
		granted := false
		for _, g := range grants {
			granted = granted || (covers(g.Action, u.Action) && covers(g.Resource, u.Resource))
		}
		if !granted {
			problems = append(problems, fmt.Sprintf("calls %s on %q (%s), which its Policies do not grant", u.Action, u.Resource, u.Where))
		}
	}
	for _, g := range grants {
		usedBy := false
		for _, u := range calls {
			usedBy = usedBy || (covers(g.Action, u.Action) && covers(g.Resource, u.Resource))
		}
		if !usedBy {
			problems = append(problems, fmt.Sprintf("grants %s on %s, which its code never calls", g.Action, g.Resource))
		}
	}
	sort.Strings(uses)
	return problems, dedup(uses)
}

var (
	sdkIndexOnce sync.Once
	sdkIndexVal  *sdkIndex
	sdkIndexErr  error
)

func projectSDKIndex(t *testing.T) *sdkIndex {
	t.Helper()
	sdkIndexOnce.Do(func() { sdkIndexVal, sdkIndexErr = loadSDKIndex(moduleRoot) })
	if sdkIndexErr != nil {
		t.Fatalf("loadSDKIndex: %v", sdkIndexErr)
	}
	return sdkIndexVal
}

// TestPoliciesMatchCode compares each function's granted actions, resource by resource,
// with the AWS operations its code can reach (sdkuse_test.go).
func TestPoliciesMatchCode(t *testing.T) {
	tpl := projectTemplate(t)
	ix := projectSDKIndex(t)
	for _, fn := range tpl.Functions() {
		t.Run(fn.LogicalID, func(t *testing.T) {
			problems, uses := policyProblems(tpl, ix, fn)
			for _, p := range problems {
				t.Errorf("%s %s", fn.LogicalID, p)
			}
			t.Logf("%s calls:\n%s", fn.LogicalID, strings.Join(uses, "\n"))
		})
	}
}

// TestPolicyProblems shows that the comparison catches a policy that grants too little
// or too much: each case edits the project's template and names the problem it expects.
func TestPolicyProblems(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(moduleRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ix := projectSDKIndex(t)
	tests := []struct {
		name, fn, old, new, want string
	}{
		{
			name: "registration secret not granted", fn: "RedeliverFunction",
			old:  "            SecretArn: !Ref AppRegistrationSecret\n      Events:\n        Every10Minutes:\n",
			new:  "            SecretArn: !Ref AppPrivateKeySecret\n      Events:\n        Every10Minutes:\n",
			want: `calls secretsmanager:GetSecretValue on "AppRegistrationSecret"`,
		},
		{
			name: "delete on the event log", fn: "ProcessorFunction",
			old:  "                - dynamodb:UpdateItem\n              Resource: !GetAtt EventsTable.Arn\n",
			new:  "                - dynamodb:UpdateItem\n                - dynamodb:DeleteItem\n              Resource: !GetAtt EventsTable.Arn\n",
			want: "grants dynamodb:DeleteItem on EventsTable, which its code never calls",
		},
		{
			name: "history cursor cannot describe the table", fn: "ApiFunction",
			old:  "            - Sid: DeliveryHistoryCursor\n              Effect: Allow\n              Action:\n                - dynamodb:DescribeTable\n",
			new:  "            - Sid: DeliveryHistoryCursor\n              Effect: Allow\n              Action:\n                - dynamodb:DescribeStream\n",
			want: `calls dynamodb:DescribeTable on "EventsTable"`,
		},
		{
			name: "query on the base event table", fn: "ApiFunction",
			old:  "              Action: dynamodb:Query\n              Resource: !Sub \"${EventsTable.Arn}/index/by_time\"\n            - Sid: DeliveryHistoryCursor\n",
			new:  "              Action: dynamodb:Query\n              Resource:\n                - !Sub \"${EventsTable.Arn}/index/by_time\"\n                - !GetAtt EventsTable.Arn\n            - Sid: DeliveryHistoryCursor\n",
			want: "grants dynamodb:Query on EventsTable, which its code never calls",
		},
		{
			name: "purge cannot batch-delete updates", fn: "ApiFunction",
			old:  "                - dynamodb:BatchWriteItem\n              Resource:\n                - !GetAtt SnapshotsTable.Arn\n                - !GetAtt UpdatesTable.Arn\n",
			new:  "                - dynamodb:BatchWriteItem\n              Resource:\n                - !GetAtt SnapshotsTable.Arn\n",
			want: `calls dynamodb:BatchWriteItem on "UpdatesTable"`,
		},
		{
			name: "secret the environment does not name", fn: "RedeliverFunction",
			old:  "          GITHUB_APP_REGISTRATION_ARN: !Ref AppRegistrationSecret\n          GITHUB_API_URL: !Ref GitHubApiUrl\n          REDELIVER_LOOKBACK: 6h\n",
			new:  "          GITHUB_API_URL: !Ref GitHubApiUrl\n          REDELIVER_LOOKBACK: 6h\n",
			want: "GITHUB_APP_REGISTRATION_ARN, which the function's environment does not name",
		},
		{
			name: "send to the wrong queue", fn: "IngestFunction",
			old:  "            QueueName: !GetAtt EventsQueue.QueueName\n",
			new:  "            QueueName: !GetAtt EventsDLQ.QueueName\n",
			want: `calls sqs:SendMessage on "EventsQueue"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Count(string(text), tt.old) != 1 {
				t.Fatalf("template.yaml holds %q %d times, want once", tt.old, strings.Count(string(text), tt.old))
			}
			tpl, err := Parse([]byte(strings.Replace(string(text), tt.old, tt.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			var fn Function
			for _, f := range tpl.Functions() {
				if f.LogicalID == tt.fn {
					fn = f
				}
			}
			problems, _ := policyProblems(tpl, ix, fn)
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, tt.want)
			}
			if !found {
				t.Errorf("policyProblems(%s, %s) = %q, want one containing %q", tt.fn, tt.name, problems, tt.want)
			}
		})
	}
}

func dedup(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
