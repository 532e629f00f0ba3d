package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// TestForgedDecisionIsNotShared is finding 1 of issue 18: one item a
// developer with dynamodb:PutItem on the decisions table wrote (approved,
// "sharing" since an hour ago, a real build and its AMIs, the attacker as
// the target, keyed by the hash of a token the attacker chose) made the
// sweeper share the build with the attacker and tell the target topic. Now
// the item, which carries no MAC of the proof key, or MACs copied from a
// real record, which cover other fields, is never acted on: nothing is
// shared, no target is told, and the sweep reports it, as a metric at
// every sweep and to the ops topic once.
func TestForgedDecisionIsNotShared(t *testing.T) {
	for _, copied := range []bool{false, true} {
		t.Run(map[bool]string{false: "no MAC", true: "a real record's MACs"}[copied], func(t *testing.T) {
			ctx := context.Background()
			env := approvaltest.New(t)
			east, west := stuck(t, env, time.Now()) // a real approval, within its lease: the sweep leaves it
			amis := []approval.AMI{{Region: "us-east-1", ID: east}, {Region: "eu-west-1", ID: west}}
			item := approvaltest.Forge(approval.NewToken(), env.Own(imageARN), amis, []string{approvaltest.Attacker}, approval.OutcomeSharing)
			if copied {
				for _, real := range env.RawItems(t) {
					approvaltest.CopyMACs(item, real)
				}
			}
			h := newHandler(t, env, awstest.NewCalls())
			env.PutAs(t, env.Developer(t, env.As(t, approvaltest.SweeperFunction)), item)

			for sweep := 1; sweep <= 2; sweep++ {
				var out bytes.Buffer
				h.metrics = metrics.New("sweeper-fn", &out)
				swept, err := h.Handle(ctx, scheduled(t))
				if err != nil || len(swept) != 1 || swept[0].Ref != approvaltest.ForgedRef || swept[0].Tampered == "" || swept[0].Outcome != "" {
					t.Errorf("sweep %d = %+v, %v, want the forged record refused as tampered", sweep, swept, err)
				}
				if got := emf.Value(emf.Parse(t, out.Bytes()), "ApprovalRecordsTampered", "sweep"); got != 1 {
					t.Errorf("sweep %d: ApprovalRecordsTampered/sweep = %v, want 1", sweep, got)
				}
				for region, ami := range map[string]string{"us-east-1": east, "eu-west-1": west} {
					for _, who := range approvaltest.LaunchPermissions(t, env.EC2(region), ami) {
						if who == approvaltest.Attacker {
							t.Errorf("%s is shared with the attacker %s", ami, who)
						}
					}
				}
				if n := len(env.Target.Receive(t)); n != 0 {
					t.Errorf("sweep %d: target notices = %d, want none", sweep, n)
				}
				ops := env.Ops.Receive(t)
				want := map[int]int{1: 1, 2: 0}[sweep] // told once
				if len(ops) != want || want == 1 && (!strings.Contains(ops[0].Subject, "tampered") || !strings.Contains(ops[0].Body, approvaltest.ForgedRef)) {
					t.Errorf("sweep %d: ops messages = %+v, want %d telling of the tampered record %s", sweep, ops, want, approvaltest.ForgedRef)
				}
			}
		})
	}
}
