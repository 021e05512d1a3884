package samtemplate

import (
	"fmt"
	pathpkg "path"
	"path/filepath"
	"sort"
	"strings"
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

// TestPoliciesMatchCode compares each function's granted actions with the AWS operations
// its code can reach (sdkuse_test.go): a call that no statement allows fails in AWS with
// AccessDenied; a grant no code uses is more privilege than the function needs.
func TestPoliciesMatchCode(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the module's packages")
	}
	root := filepath.Join("..", "..", "..")
	tpl, err := Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := loadSDKIndex(root)
	if err != nil {
		t.Fatalf("loadSDKIndex: %v", err)
	}
	for _, fn := range tpl.Functions() {
		t.Run(fn.LogicalID, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range fn.Env {
				if r, ok := v.(Ref); ok {
					env[k] = r.Name
				}
			}
			uses, unresolved := ix.Uses(modulePath+"/functions/"+fn.Name, env)
			for _, u := range unresolved {
				t.Errorf("%s: %s", fn.LogicalID, u)
			}
			if len(uses) == 0 {
				t.Fatalf("%s: no AWS operation found in its code; the analysis lost the call graph", fn.LogicalID)
			}
			grants, err := tpl.Grants(fn.LogicalID)
			if err != nil {
				t.Fatal(err)
			}
			var used []string
			for _, u := range uses {
				used = append(used, u.Action+" "+u.Resource)
				granted := false
				for _, g := range grants {
					granted = granted || (covers(g.Action, u.Action) && covers(g.Resource, u.Resource))
				}
				if !granted {
					t.Errorf("%s calls %s on %q (%s), which its Policies do not grant", fn.LogicalID, u.Action, u.Resource, u.Where)
				}
			}
			for _, g := range grants {
				usedBy := false
				for _, u := range uses {
					usedBy = usedBy || (covers(g.Action, u.Action) && covers(g.Resource, u.Resource))
				}
				if !usedBy {
					t.Errorf("%s grants %s on %s, which its code never calls", fn.LogicalID, g.Action, g.Resource)
				}
			}
			sort.Strings(used)
			t.Logf("%s uses:\n%s", fn.LogicalID, strings.Join(dedup(used), "\n"))
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
