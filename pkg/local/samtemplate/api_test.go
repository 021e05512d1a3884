package samtemplate

import (
	"reflect"
	"testing"
)

const apiTemplate = `
Parameters:
  JwtIssuer:
    Type: String
  Stage:
    Type: String
    Default: ""
  Rate:
    Type: Number
    Default: 50
Resources:
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: $default
      Auth:
        DefaultAuthorizer: BearerJwt
        Authorizers:
          BearerJwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: !Ref JwtIssuer
              audience: [a, b]
          Custom:
            FunctionArn: arn:aws:lambda:us-east-1:1:function:auth
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 512
      Events:
        Admin:
          Type: HttpApi
          Properties:
            Path: /admin
            Method: get
            Auth:
              Authorizer: BearerJwt
              AuthorizationScopes: [admin, ops]
`

func TestHTTPAPIsAndParameters(t *testing.T) {
	tpl, err := Parse([]byte(apiTemplate))
	if err != nil {
		t.Fatal(err)
	}
	wantParams := map[string]Parameter{
		"JwtIssuer": {Name: "JwtIssuer", Type: "String"},
		"Stage":     {Name: "Stage", Type: "String", Default: "", HasDefault: true},
		"Rate":      {Name: "Rate", Type: "Number", Default: "50", HasDefault: true},
	}
	if !reflect.DeepEqual(tpl.Parameters, wantParams) {
		t.Errorf("Parameters = %+v, want %+v", tpl.Parameters, wantParams)
	}
	apis := tpl.HTTPAPIs()
	if len(apis) != 1 {
		t.Fatalf("HTTPAPIs() = %d APIs, want 1", len(apis))
	}
	want := HTTPAPI{
		LogicalID: "HttpApi", StageName: "$default", DefaultAuthorizer: "BearerJwt",
		Authorizers: map[string]JWTAuthorizer{"BearerJwt": {
			Name: "BearerJwt", IdentitySource: "$request.header.Authorization",
			Issuer: Ref{Name: "JwtIssuer"}, Audience: []any{"a", "b"},
		}},
	}
	if !reflect.DeepEqual(apis[0], want) {
		t.Errorf("HTTPAPIs()[0] = %+v, want %+v", apis[0], want)
	}
	fns := tpl.Functions()
	if len(fns) != 1 || fns[0].MemorySize != 512 {
		t.Fatalf("Functions() = %+v, want ApiFunction with 512 MB", fns)
	}
	if ev := fns[0].Events[0]; ev.Method != "GET" || ev.Authorizer != "BearerJwt" || !reflect.DeepEqual(ev.Scopes, []string{"admin", "ops"}) {
		t.Errorf("event = %+v, want GET /admin with BearerJwt and scopes [admin ops]", ev)
	}
}
