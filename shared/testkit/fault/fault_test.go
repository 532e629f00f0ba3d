package fault_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// faulted returns a moto config whose calls go through rules, with the
// production retryer (see Wrap).
func faulted(t *testing.T, rules ...fault.Rule) (aws.Config, *fault.Transport) {
	t.Helper()
	cfg, _ := awstest.Moto(t).Config(t)
	return fault.Wrap(cfg, rules...)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRetryerRidesOutAShortThrottle(t *testing.T) {
	throttle := fault.Throttle("EC2", "DescribeVolumes")
	throttle.Times = 2
	cfg, tr := faulted(t, throttle)
	if _, err := ec2.NewFromConfig(cfg).DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{}); err != nil {
		t.Fatalf("DescribeVolumes after 2 throttles = %v, want the third attempt to succeed", err)
	}
	if got := tr.Injected("EC2", "DescribeVolumes"); got != 2 {
		t.Errorf("Injected = %d, want 2", got)
	}
}

// Each protocol's error reaches the caller with the service's own code, so
// the code under test sees what a real fault would give it.
func TestFaultsSpeakEachProtocol(t *testing.T) {
	tests := []struct {
		name string
		rule fault.Rule
		call func(aws.Config) error
		want string
	}{
		{"EC2 XML", fault.Throttle("EC2", "DescribeSnapshots"), func(c aws.Config) error {
			_, err := ec2.NewFromConfig(c).DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
			return err
		}, "RequestLimitExceeded"},
		{"query XML", fault.Throttle("CloudWatch", "DescribeAlarms"), func(c aws.Config) error {
			_, err := cloudwatch.NewFromConfig(c).DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
			return err
		}, "Throttling"},
		{"JSON", fault.ServerError("DynamoDB", "ListTables"), func(c aws.Config) error {
			_, err := dynamodb.NewFromConfig(c).ListTables(context.Background(), &dynamodb.ListTablesInput{})
			return err
		}, "InternalFailure"},
		{"503", fault.Unavailable("DynamoDB", "ListTables"), func(c aws.Config) error {
			_, err := dynamodb.NewFromConfig(c).ListTables(context.Background(), &dynamodb.ListTablesInput{})
			return err
		}, "ServiceUnavailable"},
		{"429", fault.TooManyRequests("EC2", "DescribeVolumes"), func(c aws.Config) error {
			_, err := ec2.NewFromConfig(c).DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{})
			return err
		}, "TooManyRequestsException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, tr := faulted(t, tt.rule)
			err := tt.call(cfg)
			if got := apiCode(err); got != tt.want {
				t.Fatalf("error = %v (code %q), want code %q", err, got, tt.want)
			}
			// The standard retryer tried three times: the fault is retryable.
			if got := tr.Injected(tt.rule.Service, tt.rule.Operation); got != 3 {
				t.Errorf("Injected = %d, want 3 (the retryer's attempts)", got)
			}
		})
	}
}

func TestShareFailsAnEvenSpreadAndSetEndsFaults(t *testing.T) {
	rule := fault.ServerError("EC2", "DescribeVolumes")
	rule.Share = 0.5
	cfg, tr := faulted(t, rule)
	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
	var failed int
	for range 10 {
		if _, err := client.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{}); err != nil {
			failed++
		}
	}
	if failed != 5 {
		t.Errorf("failed %d of 10 calls at share 0.5, want 5", failed)
	}
	tr.Set()
	if _, err := client.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{}); err != nil {
		t.Errorf("after Set(): %v, want no fault", err)
	}
}

func TestTimeoutHoldsTheCallUntilTheContextEnds(t *testing.T) {
	cfg, _ := faulted(t, fault.Rule{Service: "EC2", Operation: "DescribeVolumes", Timeout: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := ec2.NewFromConfig(cfg).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the context's deadline", err)
	}
}

func TestOtherOperationsPassUntouched(t *testing.T) {
	cfg, tr := faulted(t, fault.Throttle("EC2", "DeleteVolume"))
	if _, err := ec2.NewFromConfig(cfg).DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{}); err != nil {
		t.Fatalf("DescribeVolumes under a DeleteVolume fault: %v", err)
	}
	if got := tr.Injected("EC2", "DescribeVolumes"); got != 0 {
		t.Errorf("Injected = %d, want 0", got)
	}
}
