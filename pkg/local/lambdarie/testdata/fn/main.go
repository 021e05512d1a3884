// Command fn is a Lambda function for lambdarie's tests: it answers according to the
// event ({"echo":…}, {"fail":…}, {"sleep_ms":…}, {"panic":…}, {"exit":…}, {"env":"NAME"},
// and {"log":…}, printed to stdout and stderr after the sleep).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Echo    json.RawMessage `json:"echo"`
	Fail    string          `json:"fail"`
	SleepMS int             `json:"sleep_ms"`
	Panic   string          `json:"panic"`
	Exit    int             `json:"exit"`
	Env     string          `json:"env"`
	Log     string          `json:"log"`
}

func main() {
	if os.Getenv("FAIL_INIT") != "" {
		fmt.Println("init failed on purpose")
		os.Exit(2)
	}
	lambda.Start(func(ctx context.Context, ev event) (any, error) {
		if ev.SleepMS > 0 {
			time.Sleep(time.Duration(ev.SleepMS) * time.Millisecond)
		}
		if ev.Log != "" {
			fmt.Println(ev.Log)
			fmt.Fprintln(os.Stderr, "stderr: "+ev.Log)
		}
		switch {
		case ev.Fail != "":
			return nil, errors.New(ev.Fail)
		case ev.Panic != "":
			panic(ev.Panic)
		case ev.Exit != 0:
			os.Exit(ev.Exit)
		case ev.Env != "":
			v, ok := os.LookupEnv(ev.Env)
			return map[string]any{"value": v, "set": ok}, nil
		}
		return ev.Echo, nil
	})
}
