package fakehealthgate

import (
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the Region of the clients AWSConfig makes.
const Region = "us-east-1"

// AWSConfig returns an SDK configuration whose clients talk to the fake:
// test credentials, the fake as BaseEndpoint, and the standard retryer
// with short back-offs, so that throttling is retried as in AWS but fast.
// It reads nothing from the environment.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxBackoff = 20 * time.Millisecond
			})
		},
	}
}
