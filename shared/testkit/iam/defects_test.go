package iam

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/cfn"
)

// stub answers every call with an empty JSON object: what a test of IAM
// alone needs behind the layer for services moto lacks.
func stub(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// functionLayer is a layer with one function of file registered.
func functionLayer(t *testing.T, file, function string, env cfn.Env) (*Layer, *Principal, aws.Config, string) {
	t.Helper()
	cfg, acct := awstest.Moto(t).Config(t)
	env.Account, env.Region = acct, cfg.Region
	st, err := LoadStack(file, env)
	if err != nil {
		t.Fatal(err)
	}
	l := Start(t, aws.ToString(cfg.BaseEndpoint))
	p, err := l.Function(st, function)
	if err != nil {
		t.Fatal(err)
	}
	return l, p, cfg, acct
}

// TestWorkflowStepGrantsNameTheStepExecution: GetWorkflowStepExecution's
// only resource type is workflowStepExecution, and SendWorkflowStepAction
// needs it and the image (the templates granted only image/*/*/*, so
// every role was denied).
func TestWorkflowStepGrantsNameTheStepExecution(t *testing.T) {
	for _, fn := range []string{"AmiApprovalRequestFunction", "AmiApprovalLinkFunction", "AmiApprovalSweeperFunction"} {
		t.Run(fn, func(t *testing.T) {
			l, p, cfg, acct := functionLayer(t, "ami-approval.yaml", fn, cfn.Env{})
			if err := l.Route("imagebuilder", stub(t)); err != nil {
				t.Fatal(err)
			}
			ib := imagebuilder.NewFromConfig(l.Config(cfg, p))
			ctx := context.Background()
			if _, err := ib.GetWorkflowStepExecution(ctx, &imagebuilder.GetWorkflowStepExecutionInput{StepExecutionId: aws.String("step-0123456789abcdef0")}); err != nil {
				t.Errorf("GetWorkflowStepExecution = %v, want allowed", err)
			}
			if fn == "AmiApprovalRequestFunction" {
				return // the request function only reads steps
			}
			image := "arn:aws:imagebuilder:us-east-1:" + acct + ":image/golden/1.0.0/1"
			if _, err := ib.SendWorkflowStepAction(ctx, &imagebuilder.SendWorkflowStepActionInput{
				StepExecutionId: aws.String("step-0123456789abcdef0"), ImageBuildVersionArn: aws.String(image),
				Action: "RESUME", ClientToken: aws.String("t"),
			}); err != nil {
				t.Errorf("SendWorkflowStepAction = %v, want allowed", err)
			}
		})
	}
}

// TestStageRetryIsGrantedOnTheStage: RetryStageExecution takes the stage
// resource (<pipeline>/<stage>), not the pipeline.
func TestStageRetryIsGrantedOnTheStage(t *testing.T) {
	l, p, cfg, _ := functionLayer(t, "health-gate.yaml", "PipelineStageRetryFunction", cfn.Env{Parameters: map[string]string{"HealthGatePipelines": "release"}})
	if err := l.Route("codepipeline", stub(t)); err != nil {
		t.Fatal(err)
	}
	cp := codepipeline.NewFromConfig(l.Config(cfg, p))
	ctx := context.Background()
	if _, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{
		PipelineName: aws.String("release"), StageName: aws.String("Deploy"), PipelineExecutionId: aws.String("e"), RetryMode: "FAILED_ACTIONS",
	}); err != nil {
		t.Errorf("RetryStageExecution(release/Deploy) = %v, want allowed", err)
	}
	_, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{
		PipelineName: aws.String("other"), StageName: aws.String("Deploy"), PipelineExecutionId: aws.String("e"), RetryMode: "FAILED_ACTIONS",
	})
	if apiCode(err) != "AccessDeniedException" {
		t.Errorf("RetryStageExecution(other/Deploy) = %v, want AccessDeniedException: the pipeline is not opted in", err)
	}
}

// TestApproverTopicSubscriptions: the stack's own email subscription is
// made by CloudFormation's service role (no aws:CalledVia), so the topic
// policy decides on what is subscribed: the approver's address by email,
// or anything by the named subscriber principal; nothing else, whoever asks.
func TestApproverTopicSubscriptions(t *testing.T) {
	cfg, acct := awstest.Moto(t).Config(t)
	ctx := context.Background()
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("approvers")})
	if err != nil {
		t.Fatal(err)
	}
	subscriber := "arn:aws:iam::" + acct + ":role/ops-subscriber"
	st, err := LoadStack("ami-approval.yaml", cfn.Env{Account: acct, Region: cfg.Region,
		Names:      map[string]string{"AmiApprovalApproverTopic": "approvers"},
		Parameters: map[string]string{"AmiApprovalApproverEmail": "approver@example.com", "AmiApprovalSubscriberPrincipalArn": subscriber}})
	if err != nil {
		t.Fatal(err)
	}
	l := Start(t, aws.ToString(cfg.BaseEndpoint))
	l.AddStack(st)
	// Each principal may subscribe by its own policy: the topic's decides.
	mayAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sns:Subscribe","Resource":"*"}]}`
	as := func(name string) *sns.Client {
		p, err := l.NewPrincipal(name, acct, mayAll)
		if err != nil {
			t.Fatal(err)
		}
		return sns.NewFromConfig(l.Config(cfg, p))
	}
	tests := []struct {
		name, principal, protocol, endpoint string
		allowed                             bool
	}{
		{"CloudFormation's service role subscribes the approver", "cdk-hnb659fds-cfn-exec-role", "email", "approver@example.com", true},
		{"the address in another case", "cdk-hnb659fds-cfn-exec-role", "email", "Approver@Example.com", true},
		{"an insider subscribes another address", "developer", "email", "insider@example.com", false},
		{"an insider subscribes the approver's address over HTTP", "developer", "http", "http://approver@example.com", false},
		{"an insider subscribes a queue", "developer", "sqs", "arn:aws:sqs:us-east-1:" + acct + ":q", false},
		{"the named subscriber principal subscribes another address", "ops-subscriber", "email", "oncall@example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := as(tt.principal).Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String(tt.protocol), Endpoint: aws.String(tt.endpoint)})
			denied := apiCode(err) == "AuthorizationError"
			if denied == tt.allowed {
				t.Errorf("Subscribe(%s %s) as %s = %v, want allowed %t", tt.protocol, tt.endpoint, tt.principal, err, tt.allowed)
			}
		})
	}
}

// TestImageBuilderTopicAdmitsExecutionRoles: a pipeline with workflows
// publishes as its execution role; the topic admits the example's and
// those named, besides the service-linked role, and nobody else.
func TestImageBuilderTopicAdmitsExecutionRoles(t *testing.T) {
	cfg, acct := awstest.Moto(t).Config(t)
	ctx := context.Background()
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("image-builder")})
	if err != nil {
		t.Fatal(err)
	}
	mine := "arn:aws:iam::" + acct + ":role/my-pipeline-execution"
	st, err := LoadStack("ami-approval.yaml", cfn.Env{Account: acct, Region: cfg.Region,
		Names:      map[string]string{"AmiApprovalImageBuilderTopic": "image-builder", "AmiApprovalExampleExecutionRole": "example-execution"},
		Parameters: map[string]string{"AmiApprovalExamplePipeline": "true", "AmiApprovalPipelineExecutionRoleArns": mine}})
	if err != nil {
		t.Fatal(err)
	}
	l := Start(t, aws.ToString(cfg.BaseEndpoint))
	l.AddStack(st)
	mayPublish := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}`
	for _, tt := range []struct {
		role    string
		allowed bool
	}{
		{"my-pipeline-execution", true},
		{"example-execution", true},
		{"developer", false},
	} {
		t.Run(tt.role, func(t *testing.T) {
			p, err := l.NewPrincipal(tt.role, acct, mayPublish)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sns.NewFromConfig(l.Config(cfg, p)).Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("{}")})
			if denied := apiCode(err) == "AuthorizationError"; denied == tt.allowed {
				t.Errorf("Publish as %s = %v, want allowed %t", tt.role, err, tt.allowed)
			}
		})
	}
}
