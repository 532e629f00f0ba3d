// Command echo is the Lambda the runtimeapi tests run: it answers what it
// was sent and what it can see of its environment, or misbehaves on request.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Echo  json.RawMessage `json:"echo,omitempty"`
	Fail  string          `json:"fail,omitempty"`  // return this error
	Panic string          `json:"panic,omitempty"` // panic with this value
	Exit  int             `json:"exit,omitempty"`  // exit with this status mid-invocation
	Sleep string          `json:"sleep,omitempty"` // a time.Duration to sleep first
	Log   string          `json:"log,omitempty"`   // print this line first
}

type response struct {
	Echo         json.RawMessage `json:"echo,omitempty"`
	Count        int             `json:"count"`
	RequestID    string          `json:"requestId"`
	FunctionARN  string          `json:"functionArn"`
	FunctionName string          `json:"functionName"`
	HasDeadline  bool            `json:"hasDeadline"`
	DeadlineIn   int64           `json:"deadlineInMs"`
	Env          string          `json:"env"`
	TraceID      string          `json:"traceId"`
}

var count int

func handle(ctx context.Context, req request) (response, error) {
	count++
	if req.Log != "" {
		fmt.Println(req.Log)
	}
	if req.Sleep != "" {
		d, err := time.ParseDuration(req.Sleep)
		if err != nil {
			return response{}, err
		}
		time.Sleep(d)
	}
	if req.Exit != 0 {
		os.Exit(req.Exit)
	}
	if req.Panic != "" {
		panic(req.Panic)
	}
	if req.Fail != "" {
		return response{}, errors.New(req.Fail)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, ok := ctx.Deadline()
	return response{
		Echo:         req.Echo,
		Count:        count,
		RequestID:    lc.AwsRequestID,
		FunctionARN:  lc.InvokedFunctionArn,
		FunctionName: lambdacontext.FunctionName,
		HasDeadline:  ok,
		DeadlineIn:   time.Until(deadline).Milliseconds(),
		Env:          os.Getenv("ECHO_ENV"),
		TraceID:      os.Getenv("_X_AMZN_TRACE_ID"),
	}, nil
}

func main() {
	switch os.Getenv("ECHO_INIT") {
	case "exit":
		fmt.Println("ECHO_INIT=exit: giving up before lambda.Start")
		os.Exit(4)
	case "error":
		// What a runtime does when it cannot initialise: report, then exit.
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		body := `{"errorType":"Config.Invalid","errorMessage":"ECHO_INIT asked for an init error"}`
		resp, err := http.Post(url, "application/json", strings.NewReader(body)) // #nosec G107 G704 -- the runtime API Lambda gives the process, as every runtime calls it
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(5)
	}
	lambda.Start(handle)
}
