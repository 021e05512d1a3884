package devstack

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
)

// AccountID is the account the local stand-ins use in ARNs (fauxqs's own).
const AccountID = "000000000000"

// QueueRes is one queue of the stack.
type QueueRes struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	ARN  string `json:"arn"`
}

// Resources is what the template's references resolve to on this machine.
type Resources struct {
	Region string `json:"region"`
	// Tables maps a table's logical id to its local name.
	Tables map[string]string `json:"tables"`
	// Queues maps a queue's logical id to the local queue.
	Queues map[string]QueueRes `json:"queues"`
	// Parameters holds local values of template parameters; the others take their defaults.
	Parameters map[string]string `json:"parameters"`
	// Endpoints are the SDK endpoint overrides (AWS_ENDPOINT_URL_DYNAMODB, ...).
	Endpoints map[string]string `json:"endpoints"`
	// Secret returns the local value of a secret given to functions by ARN: for a variable
	// NAME_ARN referring to a Secrets Manager secret, functions get NAME=Secret(NAME).
	Secret func(name string) (string, error) `json:"-"`
}

// FunctionEnv is the environment of fn on this machine: the template's variables with
// every reference resolved to the local stand-in, secrets given by value instead of ARN,
// and the AWS SDK pointed at the stand-ins with dummy credentials.
func FunctionEnv(t *samtemplate.Template, fn samtemplate.Function, res Resources) (map[string]string, error) {
	env := map[string]string{
		"AWS_REGION":                res.Region,
		"AWS_DEFAULT_REGION":        res.Region,
		"AWS_ACCESS_KEY_ID":         "local",
		"AWS_SECRET_ACCESS_KEY":     "local",
		"AWS_SESSION_TOKEN":         "local",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	for k, v := range res.Endpoints {
		if v != "" {
			env[k] = v
		}
	}
	keys := make([]string, 0, len(fn.Env))
	for k := range fn.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fn.Env[k]
		if ref, ok := v.(samtemplate.Ref); ok && isType(t, ref.Name, "AWS::SecretsManager::Secret") {
			if name, ok := strings.CutSuffix(k, "_ARN"); ok && res.Secret != nil {
				s, err := res.Secret(name)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", fn.Name, name, err)
				}
				env[name] = s
				continue
			}
		}
		s, err := Resolve(t, v, res)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", fn.Name, k, err)
		}
		env[k] = s
	}
	return env, nil
}

func isType(t *samtemplate.Template, id, typ string) bool {
	r, ok := t.Resources[id]
	return ok && r.Type == typ
}

// Resolve turns a template value (string, Ref, GetAtt, Sub, or a list of them) into its
// local string; a list is joined with commas, as a CommaDelimitedList is written.
func Resolve(t *samtemplate.Template, v any, res Resources) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case samtemplate.Ref:
		return resolveRef(t, x.Name, res)
	case samtemplate.GetAtt:
		return resolveGetAtt(t, x, res)
	case samtemplate.Sub:
		return resolveSub(t, x.Format, res)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, err := Resolve(t, e, res)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("unsupported template value %T", v)
}

func resolveRef(t *samtemplate.Template, name string, res Resources) (string, error) {
	switch name {
	case "AWS::Region":
		return res.Region, nil
	case "AWS::AccountId":
		return AccountID, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return "repotrackr-local", nil
	}
	if p, ok := t.Parameters[name]; ok {
		if v, ok := res.Parameters[name]; ok {
			return v, nil
		}
		if p.HasDefault {
			return p.Default, nil
		}
		return "", fmt.Errorf("parameter %s has no default and no local value", name)
	}
	r, ok := t.Resources[name]
	if !ok {
		return "", fmt.Errorf("!Ref %s: no such parameter or resource", name)
	}
	switch r.Type {
	case "AWS::DynamoDB::Table":
		if n, ok := res.Tables[name]; ok {
			return n, nil
		}
	case "AWS::SQS::Queue":
		if q, ok := res.Queues[name]; ok {
			return q.URL, nil
		}
	case "AWS::SecretsManager::Secret":
		// Only NAME_ARN variables get the secret's value; anything else sees an ARN
		// that no local Secrets Manager serves.
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", res.Region, AccountID, name), nil
	case "AWS::Serverless::HttpApi":
		return "local", nil
	case "AWS::Serverless::Function":
		return strings.ToLower(strings.TrimSuffix(name, "Function")), nil
	}
	return "", fmt.Errorf("!Ref %s (%s) has no local value", name, r.Type)
}

func resolveGetAtt(t *samtemplate.Template, g samtemplate.GetAtt, res Resources) (string, error) {
	r, ok := t.Resources[g.Name]
	if !ok {
		return "", fmt.Errorf("!GetAtt %s.%s: no such resource", g.Name, g.Attr)
	}
	switch r.Type {
	case "AWS::SQS::Queue":
		q, ok := res.Queues[g.Name]
		if !ok {
			break
		}
		switch g.Attr {
		case "Arn":
			return q.ARN, nil
		case "QueueName":
			return q.Name, nil
		case "QueueUrl":
			return q.URL, nil
		}
	case "AWS::DynamoDB::Table":
		n, ok := res.Tables[g.Name]
		if ok && g.Attr == "Arn" {
			return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", res.Region, AccountID, n), nil
		}
	}
	return "", fmt.Errorf("!GetAtt %s.%s (%s) has no local value", g.Name, g.Attr, r.Type)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func resolveSub(t *samtemplate.Template, format string, res Resources) (string, error) {
	var firstErr error
	out := subVar.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v string
		var err error
		if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, err = resolveGetAtt(t, samtemplate.GetAtt{Name: id, Attr: attr}, res)
		} else {
			v, err = resolveRef(t, name, res)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	if firstErr != nil {
		return "", fmt.Errorf("!Sub %q: %w", format, firstErr)
	}
	return out, nil
}
