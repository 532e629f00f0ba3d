package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// HMACKey creates an HMAC_256 KMS key (the kind shared/proof seals records
// with) and returns its ARN.
func HMACKey(tb testing.TB, c *kms.Client) string {
	tb.Helper()
	arn, err := MakeHMACKey(context.Background(), c)
	if err != nil {
		tb.Fatalf("create an HMAC key: %v", err)
	}
	return arn
}

// MakeHMACKey is HMACKey without a test (make local).
func MakeHMACKey(ctx context.Context, c *kms.Client) (string, error) {
	out, err := c.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac,
		Description: aws.String("lambda-suite record proof (test)"),
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.KeyMetadata.Arn), nil
}
