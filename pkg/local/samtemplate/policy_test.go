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

	"golang.org/x/tools/txtar"
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
// or too much: each case in testdata/policy-problems edits the project's template,
// replacing its "old" lines with its "new" ones, and names in its header the function
// and the problem it expects.
func TestPolicyProblems(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(moduleRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ix := projectSDKIndex(t)
	files, err := filepath.Glob(filepath.Join("testdata", "policy-problems", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("policy problem cases = %v, %v, want some", files, err)
	}
	for _, file := range files {
		name := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".txtar"), "-", " ")
		t.Run(name, func(t *testing.T) {
			fn, want, old, repl := readPolicyCase(t, file)
			if n := strings.Count(string(text), old); n != 1 {
				t.Fatalf("template.yaml holds %q %d times, want once", old, n)
			}
			tpl, err := Parse([]byte(strings.Replace(string(text), old, repl, 1)))
			if err != nil {
				t.Fatal(err)
			}
			var f Function
			for _, x := range tpl.Functions() {
				if x.LogicalID == fn {
					f = x
				}
			}
			problems, _ := policyProblems(tpl, ix, f)
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, want)
			}
			if !found {
				t.Errorf("policyProblems(%s, %s) = %q, want one containing %q", fn, name, problems, want)
			}
		})
	}
}

// readPolicyCase reads one case: "fn:" and "want:" lines, then the files old and new.
func readPolicyCase(t *testing.T, file string) (fn, want, old, repl string) {
	t.Helper()
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if v, ok := strings.CutPrefix(line, "fn: "); ok {
			fn = v
		} else if v, ok := strings.CutPrefix(line, "want: "); ok {
			want = v
		}
	}
	for _, f := range ar.Files {
		switch f.Name {
		case "old":
			old = string(f.Data)
		case "new":
			repl = string(f.Data)
		}
	}
	if fn == "" || want == "" || old == "" {
		t.Fatalf("%s: want fn: and want: lines and an old file", file)
	}
	return fn, want, old, repl
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
