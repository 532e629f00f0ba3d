package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// Under faults a request retries through the SDK's retryer; a failed read
// (Image Builder's list of the build's AMIs, EC2's names) or a failed
// write (the record, the e-mail) sends no link, and the SNS event fails
// with the reason, so Lambda retries it and then sends it to the on-failure
// destination. Once faults stop, the redelivered message sends one link.
func TestRequestUnderFaults(t *testing.T) {
	var tr *fault.Transport
	f := newFixtureWith(t, func(c aws.Config) aws.Config {
		c, tr = fault.Wrap(c)
		return c
	})
	ev := f.built(t, sample(t, "available-single-region.json"))

	for _, rule := range []fault.Rule{
		fault.Unavailable("imagebuilder", "GetImage"),
		fault.Throttle("EC2", "DescribeImages"),
		fault.ServerError("DynamoDB", ""),
		fault.Throttle("SNS", "Publish"),
		fault.TooManyRequests("imagebuilder", ""),
	} {
		t.Run(rule.Service+" "+rule.Operation+" "+rule.Code, func(t *testing.T) {
			tr.Set(rule)
			before := tr.Injected(rule.Service, rule.Operation)
			res, err := f.h.Handle(context.Background(), ev)
			if err == nil || !strings.Contains(err.Error(), rule.Code) {
				t.Fatalf("Handle under %s = %+v, %v, want an error naming it (for the on-failure destination)", rule.Code, res, err)
			}
			if n := tr.Injected(rule.Service, rule.Operation) - before; rule.Operation != "" && n < 3 {
				t.Errorf("%s failed %d times, want the retryer's 3 attempts", rule.Operation, n)
			}
			if n := len(f.env.Approver.Receive(t)); n != 0 {
				t.Errorf("approver e-mails under a fault = %d, want 0", n)
			}
		})
	}

	short := fault.Throttle("SNS", "Publish")
	short.Times = 2
	tr.Set(short)
	f.handle(t, ev, approval.Requested)
	tr.Set()
	f.handle(t, ev, approval.Duplicate)
	if n := len(f.env.Approver.Receive(t)); n != 1 {
		t.Errorf("approver e-mails once faults stop = %d, want exactly 1", n)
	}
}
