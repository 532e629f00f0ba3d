package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// Under faults an approval retries through the SDK's retryer and shares
// nothing on the strength of a failed read: when Image Builder's list of
// the build's AMIs, EC2's description of them or the decisions table
// cannot be read, no launch permission is added and the page says the
// approval failed. Once faults stop the same link shares once.
func TestApproveUnderFaults(t *testing.T) {
	var tr *fault.Transport
	f := newFixtureWith(t, approvalURL, func(c aws.Config) aws.Config {
		c, tr = fault.Wrap(c)
		return c
	})
	ami, token := f.singleRegion(t)
	approve := linkEvent(t, "post-approve.json", token)

	for _, rule := range []fault.Rule{
		fault.Unavailable("imagebuilder", "GetImage"),
		fault.Throttle("EC2", "DescribeImages"),
		fault.ServerError("DynamoDB", ""),
		fault.TooManyRequests("imagebuilder", ""),
	} {
		t.Run(rule.Service+" "+rule.Operation+" "+rule.Code, func(t *testing.T) {
			tr.Set(rule)
			f.calls.Reset()
			before := tr.Injected(rule.Service, rule.Operation)
			resp := f.serve(t, approve)
			if resp.StatusCode < 500 || pageOutcome(resp) == "shared" {
				t.Errorf("approve under %s = %d, outcome %q, want a 5xx page that shares nothing", rule.Code, resp.StatusCode, pageOutcome(resp))
			}
			checkHeaders(t, resp)
			if n := tr.Injected(rule.Service, rule.Operation) - before; rule.Operation != "" && n < 3 {
				t.Errorf("%s failed %d times, want the retryer's 3 attempts", rule.Operation, n)
			}
			if n := f.calls.Count("EC2.ModifyImageAttribute"); n != 0 {
				t.Errorf("ModifyImageAttribute calls under a failed read = %d, want 0", n)
			}
			if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
				t.Errorf("launch permissions = %v, want none", got)
			}
		})
	}

	// A short throttle of the share itself is ridden out; once faults stop
	// the approval has shared once and notified once.
	short := fault.Throttle("EC2", "ModifyImageAttribute")
	short.Times = 2
	tr.Set(short)
	resp := f.serve(t, approve)
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "shared" {
		t.Fatalf("approve after a short throttle = %d, outcome %q, want 200 shared", resp.StatusCode, pageOutcome(resp))
	}
	if n := tr.Injected("EC2", "ModifyImageAttribute"); n != 2 {
		t.Errorf("ModifyImageAttribute throttled %d times, want 2 ridden out", n)
	}
	tr.Set()
	f.serve(t, approve)
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); !slices.Equal(got, approvaltest.Targets.Accounts) {
		t.Errorf("launch permissions = %v, want %v", got, approvaltest.Targets.Accounts)
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want exactly 1", n)
	}
}
