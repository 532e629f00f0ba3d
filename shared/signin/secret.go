package signin

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretAPI is the Secrets Manager call LoadClientSecret makes.
type SecretAPI interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretAPI = (*secretsmanager.Client)(nil)

// LoadClientSecret reads the OIDC client secret: the SecretString of the
// secret's current version (AWSCURRENT), trimmed, as it is (no JSON). It is
// read once, at cold start, and kept only in memory; it is never logged.
// A binary or empty secret is an error naming the secret, not the value.
func LoadClientSecret(ctx context.Context, api SecretAPI, secretARN string) (string, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)})
	if err != nil {
		return "", fmt.Errorf("read the OIDC client secret %s: %w", secretARN, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("the OIDC client secret %s has no SecretString (a binary secret): store the client secret as text", secretARN)
	}
	v := strings.TrimSpace(aws.ToString(out.SecretString))
	if v == "" {
		return "", fmt.Errorf("the OIDC client secret %s is empty", secretARN)
	}
	return v, nil
}
