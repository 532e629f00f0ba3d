package approval_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

type publisher interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// publishFunc is an SNS client as a function, to act in the middle of a
// publish.
type publishFunc func(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)

func (f publishFunc) Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return f(ctx, in, opts...)
}

// TestConcurrentDeliveryWaitsForTheFirst: SNS may deliver a message twice at
// once. While the first delivery is publishing, the second must neither send
// an email nor take the build over; it asks for a retry, which then finds the
// build done.
func TestConcurrentDeliveryWaitsForTheFirst(t *testing.T) {
	env := approvaltest.New(t)
	im := approval.Image{
		ARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1", Name: "app", Version: "1.0.0",
		Status: approval.StatusAvailable, AccountID: "123456789012",
		AMIs: []approval.AMI{{Region: "us-east-1", ID: "ami-0123456789abcdef0", Name: "app"}},
	}
	env.Built(im.ARN, im.AMIs...)
	newRequester := func(p publisher) *approval.Requester {
		s := env.Settings("https://approvals.example.com/")
		return &approval.Requester{
			Store: env.Store(env.Cfg), SNS: p,
			Builds: env.Builds(env.Cfg), EC2: env.Names(env.Cfg),
			ApproverTopicARN: s.ApproverTopicARN, Targets: s.Targets, ApprovalURL: s.ApprovalURL,
		}
	}
	second := newRequester(env.SNS)

	var secondErr error
	first := newRequester(publishFunc(func(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error) {
		_, secondErr = second.Handle(ctx, im) // the duplicate arrives now
		return env.SNS.Publish(ctx, in, opts...)
	}))
	res, err := first.Handle(context.Background(), im)
	if err != nil || res.Outcome != approval.Requested {
		t.Fatalf("first delivery = %+v, %v, want requested", res, err)
	}
	if !errors.Is(secondErr, approval.ErrInProgress) {
		t.Errorf("concurrent delivery = %v, want ErrInProgress (a retry)", secondErr)
	}
	if res, err := second.Handle(context.Background(), im); err != nil || res.Outcome != approval.Duplicate {
		t.Errorf("retried delivery = %+v, %v, want duplicate", res, err)
	}
	if n := len(env.Approver.Receive(t)); n != 1 {
		t.Errorf("emails = %d, want 1", n)
	}
}
