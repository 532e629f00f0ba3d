package approval

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/proof"
)

// NewDecider builds the Decider the link function and the sweeper share
// (both flows),
// at cold start: Image Builder, EC2 and KMS clients are made per Region as
// the builds and AMIs need them. Image Builder is reached through the SDK's
// usual endpoint settings (AWS_ENDPOINT_URL_IMAGEBUILDER in local runs).
func NewDecider(cfg aws.Config, s Settings, log *slog.Logger) *Decider {
	snsc := sns.NewFromConfig(cfg)
	return &Decider{
		Store: NewStore(cfg, s),
		Builds: &Regional[BuildAPI]{New: func(region string) BuildAPI {
			return imagebuilder.NewFromConfig(cfg, func(o *imagebuilder.Options) { o.Region = region })
		}},
		EC2: &Regional[ImageAPI]{New: func(region string) ImageAPI {
			return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
		}},
		KMS: &Regional[KeyAPI]{New: func(region string) KeyAPI {
			return kms.NewFromConfig(cfg, func(o *kms.Options) { o.Region = region })
		}},
		SNS:              snsc,
		Topics:           snsc,
		TargetTopicARN:   s.TargetTopicARN,
		ApproverTopicARN: s.ApproverTopicARN,
		Targets:          s.Targets,
		Log:              log,
	}
}

// NewStore builds the decisions table's Store, its records sealed with the
// proof key (in the function's own Region, where the stack made it).
func NewStore(cfg aws.Config, s Settings) *Store {
	return &Store{DB: dynamodb.NewFromConfig(cfg), Table: s.Table, Proof: &proof.Sealer{KMS: kms.NewFromConfig(cfg), KeyID: s.ProofKeyARN}}
}
