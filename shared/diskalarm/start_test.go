package diskalarm

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/proof"
)

// text is a Line as a test states it: "LEVEL msg key=value ...".
func text(l Line) string {
	if l.Msg == "" {
		return ""
	}
	s := l.Level.String() + " " + l.Msg
	for _, a := range l.Attrs {
		s += " " + a.String()
	}
	return s
}

func TestStartOf(t *testing.T) {
	const (
		id         = "i-0123456789abcdef0"
		configured = "arn:aws:sns:us-east-1:123456789012:configured"
		operators  = "arn:aws:sns:us-east-1:123456789012:operators"
	)
	d := Defaults{Selector: Selector{Tag: awsid.Tag{Key: "disk-alarms", Value: "on"}}, TopicARN: configured}
	tests := []struct {
		name     string
		inv      Invocation
		st       Standing
		want     Start
		wantLine string
	}{
		{"direct with a topic", Invocation{Kind: KindDirect, NamePattern: "Windows*", TopicARN: operators}, Standing{},
			Start{Run: true, Request: Request{Trigger: TriggerDirect, Selector: Selector{NamePattern: "Windows*"}, TopicARN: operators}}, ""},
		{"direct without a topic", Invocation{Kind: KindDirect, NamePattern: "Windows*"}, Standing{},
			Start{Run: true, Request: Request{Trigger: TriggerDirect, Selector: Selector{NamePattern: "Windows*"}, TopicARN: configured}}, ""},
		{"running", Invocation{Kind: KindStateChange, InstanceID: id, State: TriggerRunning}, Standing{},
			Start{Run: true, Request: Request{Trigger: TriggerRunning, Selector: d.Selector, InstanceID: id, TopicARN: configured}}, ""},
		{"terminated", Invocation{Kind: KindStateChange, InstanceID: id, State: TriggerTerminated}, Standing{},
			Start{Run: true, Request: Request{Trigger: TriggerTerminated, Selector: d.Selector, InstanceID: id, TopicARN: configured}}, ""},
		{"stopping", Invocation{Kind: KindStateChange, InstanceID: id, State: "stopping"}, Standing{},
			Start{Answer: Result{Trigger: "stopping", Scope: "instance " + id, Note: "only running and terminated change alarms"}},
			"INFO state change ignored instanceId=" + id + " state=stopping"},
		{"schedule", Invocation{Kind: KindSchedule}, Standing{Reason: QueueEmpty},
			Start{Run: true, Request: Request{Trigger: TriggerSchedule, Selector: d.Selector, TopicARN: configured}}, ""},
		{"schedule beside an untrusted lease", Invocation{Kind: KindSchedule}, Standing{Reason: LeaseUntrusted, Untrusted: errors.New("forged")},
			Start{Run: true, Request: Request{Trigger: TriggerSchedule, Selector: d.Selector, TopicARN: configured}, Tampered: true},
			"ERROR chain lease ignored: tampering: the continuation queue's lease is not one the function sealed messageId= error=forged"},
		{"schedule during a chain", Invocation{Kind: KindSchedule}, Standing{Aside: true, Reason: ChainUnderway},
			Start{Answer: Result{Trigger: TriggerSchedule, Scope: "fleet", Note: "skipped: a resumed run is under way and covers the fleet"}},
			"INFO scheduled run skipped: a resumed run is under way reason=" + string(ChainUnderway)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StartOf(tt.inv, d, tt.st)
			line := text(got.Line)
			got.Line = Line{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("StartOf(%+v, %+v) (-want +got):\n%s", tt.inv, tt.st, diff)
			}
			if line != tt.wantLine {
				t.Errorf("StartOf(%+v, %+v).Line = %q, want %q", tt.inv, tt.st, line, tt.wantLine)
			}
		})
	}
}

// A chain the schedule started resumes with the configuration's selection
// and topic; an operator's keeps its own.
func TestResumed(t *testing.T) {
	d := Defaults{Selector: Selector{NamePattern: "*"}, TopicARN: "arn:aws:sns:us-east-1:123456789012:configured"}
	sealed := Request{Trigger: TriggerResume, Selector: Selector{NamePattern: "Windows*"}, TopicARN: "arn:aws:sns:us-east-1:123456789012:sealed", Cursor: "a", Pass: 2}
	tests := []struct {
		name   string
		origin string
		want   Request
	}{
		{"schedule", TriggerSchedule, Request{Trigger: TriggerResume, Selector: d.Selector, TopicARN: d.TopicARN, Cursor: "a", Origin: TriggerSchedule, Pass: 2}},
		{"direct", TriggerDirect, Request{Trigger: TriggerResume, Selector: sealed.Selector, TopicARN: sealed.TopicARN, Cursor: "a", Origin: TriggerDirect, Pass: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sealed
			req.Origin = tt.origin
			if diff := cmp.Diff(tt.want, d.Resumed(req)); diff != "" {
				t.Errorf("Resumed(%+v) (-want +got):\n%s", req, diff)
			}
		})
	}
}

// A record on the queue runs only when its seal verifies and is fresh.
func TestResumeOf(t *testing.T) {
	d := Defaults{Selector: Selector{NamePattern: "*"}, TopicARN: "arn:aws:sns:us-east-1:123456789012:configured"}
	opened := Request{Trigger: TriggerResume, Cursor: "a", Origin: TriggerSchedule, Pass: 2}
	tests := []struct {
		name     string
		err      error
		want     Start
		wantLine string
	}{
		{"sealed", nil, Start{Run: true, Request: d.Resumed(opened)}, ""},
		{"forged", proof.ErrTampered, Start{Tampered: true},
			"ERROR continuation dropped: tampering: the message is not one the function sealed, and is not acted on messageId=m-1 error=" + proof.ErrTampered.Error()},
		{"stale", ErrStale, Start{Tampered: true},
			"ERROR continuation dropped: tampering: the message is not one the function sealed, and is not acted on messageId=m-1 error=" + ErrStale.Error()},
		{"not a continuation", badInput("no cursor"), Start{Tampered: true},
			"ERROR continuation dropped: tampering: the message is not one the function sealed, and is not acted on messageId=m-1 error=bad input: no cursor"},
		{"KMS did not answer", errors.New("kms: throttled"), Start{Retry: true},
			"ERROR continuation kept for a retry: its seal could not be checked messageId=m-1 error=kms: throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := opened
			if tt.err != nil {
				req = Request{}
			}
			got := d.ResumeOf("m-1", req, tt.err)
			line := text(got.Line)
			got.Line = Line{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResumeOf(%+v, %v) (-want +got):\n%s", req, tt.err, diff)
			}
			if line != tt.wantLine {
				t.Errorf("ResumeOf(%+v, %v).Line = %q, want %q", req, tt.err, line, tt.wantLine)
			}
		})
	}
}
