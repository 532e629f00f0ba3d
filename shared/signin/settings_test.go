package signin

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/settings"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/google/go-cmp/cmp"
)

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc/client-AbC123" // #nosec G101 -- an ARN, not the secret

func TestReadSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr []string // each bad variable, named
	}{
		{"unset is off", nil, Settings{}, nil},
		{"all three", map[string]string{"OIDC_ISSUER": "https://idp.example.com/oauth2/default", "OIDC_CLIENT_ID": "page", "OIDC_CLIENT_SECRET_ARN": secretARN},
			Settings{Issuer: "https://idp.example.com/oauth2/default", ClientID: "page", ClientSecretARN: secretARN}, nil},
		{"http on loopback", map[string]string{"OIDC_ISSUER": "http://127.0.0.1:8080", "OIDC_CLIENT_ID": "page", "OIDC_CLIENT_SECRET_ARN": secretARN},
			Settings{Issuer: "http://127.0.0.1:8080", ClientID: "page", ClientSecretARN: secretARN}, nil},
		{"issuer alone", map[string]string{"OIDC_ISSUER": "https://idp.example.com"}, Settings{Issuer: "https://idp.example.com"},
			[]string{"OIDC_CLIENT_ID: required", "OIDC_CLIENT_SECRET_ARN: required"}},
		{"client without issuer", map[string]string{"OIDC_CLIENT_ID": "page", "OIDC_CLIENT_SECRET_ARN": secretARN}, Settings{},
			[]string{"OIDC_CLIENT_ID: set, but OIDC_ISSUER is not", "OIDC_CLIENT_SECRET_ARN: set, but OIDC_ISSUER is not"}},
		{"bad values", map[string]string{"OIDC_ISSUER": "http://idp.example.com", "OIDC_CLIENT_ID": "page", "OIDC_CLIENT_SECRET_ARN": "oidc/client"},
			Settings{Issuer: "http://idp.example.com", ClientID: "page", ClientSecretARN: "oidc/client"},
			[]string{"OIDC_ISSUER: \"http://idp.example.com\": want https", "OIDC_CLIENT_SECRET_ARN: \"oidc/client\" is not a Secrets Manager secret's full ARN"}},
		{"issuer with a query", map[string]string{"OIDC_ISSUER": "https://idp.example.com/?tenant=1", "OIDC_CLIENT_ID": "page", "OIDC_CLIENT_SECRET_ARN": secretARN},
			Settings{Issuer: "https://idp.example.com/?tenant=1", ClientID: "page", ClientSecretARN: secretARN}, []string{"OIDC_ISSUER: \"https://idp.example.com/?tenant=1\": want https://host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := settings.NewReader(settings.Map(tt.env))
			got := ReadSettings(r)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadSettings (-want +got):\n%s", diff)
			}
			err := r.Err()
			if (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("Err() = %v, want %d problems", err, len(tt.wantErr))
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Err() = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadClientSecret(t *testing.T) {
	t.Parallel()
	cfg, _ := awstest.Moto(t).Config(t)
	sm := secretsmanager.NewFromConfig(cfg)
	ctx := context.Background()
	create := func(in *secretsmanager.CreateSecretInput) string {
		out, err := sm.CreateSecret(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ARN)
	}
	text := create(&secretsmanager.CreateSecretInput{Name: aws.String("oidc/client"), SecretString: aws.String(" s3cret\n")})
	binary := create(&secretsmanager.CreateSecretInput{Name: aws.String("oidc/binary"), SecretBinary: []byte{1, 2}})
	blank := create(&secretsmanager.CreateSecretInput{Name: aws.String("oidc/blank"), SecretString: aws.String("  ")})

	if got, err := LoadClientSecret(ctx, sm, text); got != "s3cret" || err != nil {
		t.Errorf("LoadClientSecret(text) = %q, %v, want s3cret", got, err)
	}
	for name, arn := range map[string]string{"binary": binary, "blank": blank, "absent": strings.Replace(text, "oidc/client", "oidc/other", 1)} {
		got, err := LoadClientSecret(ctx, sm, arn)
		if err == nil || !strings.Contains(err.Error(), arn) {
			t.Errorf("LoadClientSecret(%s) = %q, %v, want an error naming the secret", name, got, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("LoadClientSecret(%s) error shows a secret: %v", name, err)
		}
	}
	// OIDC_CLIENT_SECRET_ARN's rule accepts the ARN Secrets Manager gives.
	if _, err := awsid.ParseSecretARN(text); err != nil {
		t.Errorf("ParseSecretARN(%s) = %v, want nil", text, err)
	}
}
