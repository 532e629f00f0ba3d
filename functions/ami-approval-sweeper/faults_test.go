package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// Under faults the sweep retries through the SDK's retryer and shares
// nothing on the strength of a failed read: when the stopped approvals,
// Image Builder's list of the build's AMIs or EC2's description of them
// cannot be read, the second AMI stays unshared and the invocation fails
// naming the reason, so it lands in the on-failure destination.
// Once faults stop the next sweep finishes the approval, once.
func TestSweepUnderFaults(t *testing.T) {
	env := approvaltest.New(t)
	calls := awstest.NewCalls()
	east, west := stuck(t, env, time.Now().Add(-approval.SharingLease-time.Minute))
	var tr *fault.Transport
	h := newHandlerWith(t, env, calls, func(c aws.Config) aws.Config {
		c, tr = fault.Wrap(c)
		return c
	})

	for _, rule := range []fault.Rule{
		fault.Unavailable("DynamoDB", ""),
		fault.Throttle("imagebuilder", "GetImage"),
		fault.ServerError("EC2", "DescribeImages"),
		fault.TooManyRequests("imagebuilder", ""),
	} {
		t.Run(rule.Service+" "+rule.Operation+" "+rule.Code, func(t *testing.T) {
			tr.Set(rule)
			calls.Reset()
			before := tr.Injected(rule.Service, rule.Operation)
			swept, err := h.Handle(context.Background(), scheduled(t))
			if err == nil || !strings.Contains(err.Error(), rule.Code) {
				t.Fatalf("Handle under %s = %+v, %v, want an error naming it (for the on-failure destination)", rule.Code, swept, err)
			}
			if len(swept) > 0 && swept[0].Outcome == approval.OutcomeShared {
				t.Errorf("swept = %+v, want the approval left unfinished", swept)
			}
			if n := tr.Injected(rule.Service, rule.Operation) - before; rule.Operation != "" && n < 3 {
				t.Errorf("%s failed %d times, want the retryer's 3 attempts", rule.Operation, n)
			}
			if n := calls.Count("EC2.ModifyImageAttribute"); n != 0 {
				t.Errorf("ModifyImageAttribute calls under a failed read = %d, want 0", n)
			}
			if got := approvaltest.LaunchPermissions(t, env.EC2("eu-west-1"), west); len(got) != 0 {
				t.Errorf("launch permissions of %s = %v, want none", west, got)
			}
		})
	}

	tr.Set()
	swept, err := h.Handle(context.Background(), scheduled(t))
	if err != nil || len(swept) != 1 || swept[0].Outcome != approval.OutcomeShared {
		t.Fatalf("sweep once faults stop = %+v, %v, want the approval finished as shared", swept, err)
	}
	for region, ami := range map[string]string{"us-east-1": east, "eu-west-1": west} {
		if got := approvaltest.LaunchPermissions(t, env.EC2(region), ami); !slices.Equal(got, approvaltest.Targets.Accounts) {
			t.Errorf("launch permissions of %s = %v, want %v", ami, got, approvaltest.Targets.Accounts)
		}
	}
	if n := len(env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1", n)
	}
	if swept, err := h.Handle(context.Background(), scheduled(t)); err != nil || len(swept) != 0 {
		t.Errorf("sweep after convergence = %+v, %v, want nothing to do", swept, err)
	}
}
