// Command minimal is the least a Go Lambda function can be: aws-lambda-go answering an
// empty object. Cold start figures (pkg/processor/README.md, "Performance and cost")
// compare each function's bootstrap with it, built the same way.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, map[string]any) (map[string]any, error) {
		return map[string]any{}, nil
	})
}
