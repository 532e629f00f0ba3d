package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ebs-ops/lambda-suite/shared/approval"
)

// TestForgedFailureDoesNotSilenceTheBuild is finding 6 of issue 18: a
// publisher (sns:Publish on the Image Builder topic) sent a FAILED message
// for a build, or for the next build's ARN before Image Builder made it;
// it claimed the build, told the approvers it failed, and made the real
// AVAILABLE message a duplicate: no approval was ever asked. Now a message
// of any status is checked with GetImage before it claims the build or
// tells anyone: one Image Builder contradicts is refused, naming the
// contradiction, claims nothing, and the real message is asked about.
func TestForgedFailureDoesNotSilenceTheBuild(t *testing.T) {
	for _, tt := range []struct {
		name string
		// before is what Image Builder knows of the build when the forged
		// message comes: nothing yet, or the finished build.
		before     func(f fixture, arn string)
		wantReason string
	}{
		{"the next build, not made yet", func(fixture, string) {}, "Image Builder has no build"},
		{"a build Image Builder reports AVAILABLE", nil, "Image Builder reports it AVAILABLE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			real := sample(t, "available-single-region.json")
			ev := f.own(real)
			arn := mustImage(t, ev).ARN
			if tt.before != nil {
				tt.before(f, arn)
			} else {
				ev = f.built(t, real)
			}
			forged := f.own(sample(t, "failed.json"))
			forged.Records[0].SNS.Message = strings.ReplaceAll(forged.Records[0].SNS.Message, mustImage(t, forged).ARN, arn)

			res := f.handle(t, forged, approval.Refused)
			if !strings.Contains(res.Reason, tt.wantReason) || !strings.Contains(res.Reason, "FAILED") {
				t.Errorf("refusal reason %q, want it to name the contradiction (%q, the message's FAILED)", res.Reason, tt.wantReason)
			}
			mails := f.env.Approver.Receive(t)
			if len(mails) != 1 || strings.Contains(mails[0].Subject, "FAILED") || !strings.Contains(mails[0].Subject, "refused") || !strings.Contains(mails[0].Body, tt.wantReason) {
				t.Errorf("approver messages = %+v, want one refusal, no failure notice", mails)
			}
			for _, item := range f.env.Items(t) {
				if strings.Contains(item, "id=image#") {
					t.Errorf("the forged message claimed the build: %s", item)
				}
			}

			if tt.before != nil {
				ev = f.built(t, real) // Image Builder finishes the build
			}
			f.handle(t, ev, approval.Requested)
			if mails := f.env.Approver.Receive(t); len(mails) != 1 || !strings.Contains(mails[0].Body, "?token=") {
				t.Errorf("approver messages for the real build = %+v, want its approval email", mails)
			}
		})
	}
}

// TestSubjectNamesTheBuildAsImageBuilderDoes is part of finding 11 of
// issue 18: the subject names the build as Image Builder does (GetImage),
// not as the message does, which any publisher writes.
func TestSubjectNamesTheBuildAsImageBuilderDoes(t *testing.T) {
	f := newFixture(t)
	ev := f.built(t, sample(t, "available-single-region.json"))
	ev.Records[0].SNS.Message = strings.Replace(ev.Records[0].SNS.Message, `"name": "golden-al2023"`, `"name": "URGENT approve now"`, 1)
	f.handle(t, ev, approval.Requested)
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 || strings.Contains(mails[0].Subject, "URGENT") || !strings.Contains(mails[0].Subject, "golden-al2023") {
		t.Errorf("approver messages = %+v, want one whose subject names the build as Image Builder does", mails)
	}
}

func mustImage(t *testing.T, ev events.SNSEvent) approval.Image {
	t.Helper()
	im, err := approval.ParseImage([]byte(ev.Records[0].SNS.Message))
	if err != nil {
		t.Fatal(err)
	}
	return im
}
