package approval

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestVerify: a request as sealed verifies; a change to any field that
// decides is tampering; a record without any MAC is the previous
// version's (unsealed), one with state but no request MAC is tampered.
func TestVerify(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	req := Request{id: requestPrefix + "ab", Ref: "a1b2c3d4e5f6", ImageARN: testBuild, AMIs: []AMI{{Region: "us-east-1", ID: testAMI}},
		Targets: Targets{Accounts: []string{"111111111111"}}, CreatedAt: at, LinkExpiresAt: at.Add(time.Hour)}
	var err error
	if req.requestMAC, err = s.sealRequest(ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	decided := req
	decided.Decision, decided.DecidedAt, decided.Outcome, decided.lease, decided.UpdatedAt = Approve, at, OutcomeSharing, "l", at
	decided.Shared = decided.AMIs
	if decided.stateMAC, err = s.sealState(ctx, decided); err != nil {
		t.Fatal(err)
	}
	step := &Step{ExecutionID: "step-1", Region: "us-east-1", TimesOutAt: at}
	tests := []struct {
		name         string
		req          Request
		st           *Step
		wantUnsealed bool
		wantTampered bool
	}{
		{name: "pending, as sealed", req: req},
		{name: "decided, as sealed", req: decided},
		{name: "a target added", req: func() Request {
			r := decided
			r.Targets.Accounts = append(r.Targets.Accounts, "999999999999")
			return r
		}(), wantTampered: true},
		{name: "another build", req: func() Request { r := req; r.ImageARN += "x"; return r }(), wantTampered: true},
		{name: "the outcome changed", req: func() Request { r := decided; r.Outcome = OutcomeFailed; return r }(), wantTampered: true},
		{name: "an old updatedAt", req: func() Request { r := decided; r.UpdatedAt = at.Add(-time.Hour); return r }(), wantTampered: true},
		{name: "a decision added to a sealed request", req: func() Request { r := req; r.Decision, r.Outcome = Approve, OutcomeSharing; return r }(), wantTampered: true},
		{name: "bound to a step afterwards", req: req, st: step, wantTampered: true},
		{name: "the state's MAC on another record", req: func() Request { r := decided; r.id = requestPrefix + "cd"; return r }(), wantTampered: true},
		{name: "no MAC at all (a record written before sealing)", req: func() Request { r := decided; r.requestMAC, r.stateMAC = "", ""; return r }(), wantUnsealed: true},
		{name: "state MAC without a request MAC", req: func() Request { r := decided; r.requestMAC = ""; return r }(), wantTampered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsealed, err := s.verify(ctx, tt.req, tt.st)
			if unsealed != tt.wantUnsealed || errors.Is(err, ErrTampered) != tt.wantTampered || (err != nil && !tt.wantTampered) {
				t.Errorf("verify = %v, %v; want unsealed %v, tampered %v", unsealed, err, tt.wantUnsealed, tt.wantTampered)
			}
		})
	}
}
