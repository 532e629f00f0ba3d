// Package coldstart does what every function's main does once, before its
// first invocation: load and check the configuration and the AWS SDK's.
// A failure logs one line and exits non-zero, which Lambda reports as an
// init error instead of running a misconfigured function.
package coldstart

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// exit is os.Exit, replaced in tests.
var exit = os.Exit

// Config loads the function's configuration from its environment with load.
// On error it logs one line naming every variable at fault, and exits.
func Config[C any](log *slog.Logger, load func(settings.Lookup) (C, error)) C {
	cfg, err := load(os.LookupEnv)
	if err != nil {
		log.Error("invalid configuration", "error", strings.ReplaceAll(err.Error(), "\n", "; "))
		exit(1)
	}
	return cfg
}

// AWS loads the SDK configuration the standard way, so AWS_REGION,
// AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, AWS_MAX_ATTEMPTS and
// AWS_RETRY_MODE apply unchanged. On error it logs and exits.
func AWS(ctx context.Context, log *slog.Logger, opts ...func(*config.LoadOptions) error) aws.Config {
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		log.Error("load AWS configuration", "error", err.Error())
		exit(1)
	}
	return cfg
}
