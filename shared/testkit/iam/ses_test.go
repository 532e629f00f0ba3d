package iam

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

func sendFrom(ctx context.Context, c *sesv2.Client, from string) error {
	_, err := c.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{"alice@example.org"}},
		Content:          &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("t")}}}},
	})
	return err
}

// TestSESSendEmailOnlyFromTheConfiguredSender: ses:FromAddress narrows
// ses:SendEmail on the domain identity to one address; the identity is the
// address's own when it is one.
func TestSESSendEmailOnlyFromTheConfiguredSender(t *testing.T) {
	admin, as, acct := layerFor(t, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"ses:SendEmail","Resource":"arn:aws:ses:us-east-1:*:identity/example.com",
	   "Condition":{"StringEquals":{"ses:FromAddress":"approvals@example.com"}}}]}`)
	ctx := context.Background()
	adm := sesv2.NewFromConfig(admin)
	for _, id := range []string{"example.com", "own@example.com"} {
		if _, err := adm.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	c := sesv2.NewFromConfig(as)
	if err := sendFrom(ctx, c, "approvals@example.com"); err != nil {
		t.Errorf("SendEmail from the configured sender = %v, want allowed", err)
	}
	if err := sendFrom(ctx, c, "Approvals <approvals@example.com>"); err != nil {
		t.Errorf("SendEmail from the configured sender with a display name = %v, want allowed", err)
	}
	domain := "arn:aws:ses:us-east-1:" + acct + ":identity/example.com"
	for from, resource := range map[string]string{
		"other@example.com": domain,
		// An address that is an identity itself is evaluated as that identity.
		"own@example.com": "arn:aws:ses:us-east-1:" + acct + ":identity/own@example.com",
	} {
		err := sendFrom(ctx, c, from)
		if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "ses:SendEmail") || !strings.Contains(err.Error(), resource) {
			t.Errorf("SendEmail from %s = %v, want AccessDeniedException naming ses:SendEmail on %s", from, err, resource)
		}
	}
}

// TestSecretsManagerGetSecretValueOnTheSecretsFullARN: a grant on the
// secret's full ARN covers a request by name, and no other secret.
func TestSecretsManagerGetSecretValueOnTheSecretsFullARN(t *testing.T) {
	admin, acct := awstest.Moto(t).Config(t)
	ctx := context.Background()
	adm := secretsmanager.NewFromConfig(admin)
	var arns []string
	for _, name := range []string{"oidc/client", "oidc/other"} {
		out, err := adm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("s")})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.ARN))
	}
	l := Start(t, aws.ToString(admin.BaseEndpoint))
	p, err := l.NewPrincipal("reader", acct, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"`+arns[0]+`"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	c := secretsmanager.NewFromConfig(l.Config(admin, p))
	for _, id := range []string{arns[0], "oidc/client"} {
		if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}); err != nil {
			t.Errorf("GetSecretValue(%s) = %v, want allowed", id, err)
		}
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("oidc/other")})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), arns[1]) {
		t.Errorf("GetSecretValue(oidc/other) = %v, want AccessDeniedException naming %s", err, arns[1])
	}
}
