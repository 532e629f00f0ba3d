package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/health"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
)

const (
	accountA = "111111111111"
	accountB = "222222222222"
	accountC = "333333333333"
)

// With the organizational view and accounts=[A,B], under the gate's role:
// an EC2 issue affecting only C passes the deployment; one affecting B
// fails it, naming B.
func TestOrganizationGateBlocksOnlyOnItsAccounts(t *testing.T) {
	t.Parallel()
	f := newViewFixture(t, true)
	params := `{"regions":["us-east-1"],"services":["EC2"],"accounts":["` + accountA + `","` + accountB + `"]}`
	ev := withParams(t, sample(t, "job-json-params.json"), params)

	f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Accounts: []string{accountC}})
	if a := f.answer(t, ev, jsonJob); !a.Success {
		t.Fatalf("answer with an EC2 issue affecting only account C = %+v, want success", a)
	}

	f.fake.ResetCalls()
	f.fake.ClearEvents()
	onB := f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Accounts: []string{accountB, accountC}})
	a := f.answer(t, ev, jsonJob)
	if a.Success || !strings.HasPrefix(a.Message, healthgate.BlockedPrefix) {
		t.Fatalf("answer with an EC2 issue affecting B = %+v, want blocked", a)
	}
	for _, want := range []string{onB.ARN, "accounts: " + accountB + ",", "health/home#/organization/event-log"} {
		if !strings.Contains(a.Message, want) {
			t.Errorf("message does not name %q:\n%s", want, a.Message)
		}
	}
	if n := f.fake.Count("Health.DescribeAffectedAccountsForOrganization"); n != 1 {
		t.Errorf("DescribeAffectedAccountsForOrganization calls = %d, want 1", n)
	}
}

// Without the organizational view the role may not ask for the
// organization's events or accounts, and accounts naming another account
// than the gate's own are refused before AWS Health is asked.
func TestAccountsWithoutOrganizationViewRefused(t *testing.T) {
	t.Parallel()
	f := newViewFixture(t, false)
	_, err := health.NewFromConfig(f.roleCfg).DescribeAffectedAccountsForOrganization(context.Background(), &health.DescribeAffectedAccountsForOrganizationInput{
		EventArn: aws.String("arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_1"),
	})
	iam.WantDenied(t, err, "AccessDeniedException", "health:DescribeAffectedAccountsForOrganization", "*")

	// The sample job is account 123456789012's; the test runs outside
	// Lambda, so that is the gate's own account.
	ev := withParams(t, sample(t, "job-json-params.json"), `{"accounts":["`+accountB+`"]}`)
	a := f.answer(t, ev, jsonJob)
	if a.Success || a.FailureType != "ConfigurationError" || !strings.Contains(a.Message, "accounts: "+accountB) || !strings.Contains(a.Message, "ORGANIZATION_VIEW") {
		t.Errorf("answer = %+v, want a ConfigurationError naming accounts and the organizational view", a)
	}
	if n := f.fake.Count("Health.DescribeEvents"); n != 0 {
		t.Errorf("DescribeEvents calls = %d, want 0", n)
	}
	own := withParams(t, sample(t, "job-json-params.json"), `{"accounts":["123456789012"]}`)
	f.fake.ResetCalls()
	if a := f.answer(t, own, jsonJob); !a.Success {
		t.Errorf("answer with accounts naming only the gate's own account = %+v, want success", a)
	}
}
