package healthgate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/health"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// AWS Health runs active-passive in two Regions of the aws partition. The
// global name resolves (a CNAME) to the active Region's endpoint, which
// must be signed for that Region: the SDK cannot follow it by itself.
const (
	GlobalHealthHost     = "global.health.amazonaws.com"
	DefaultActiveRegion  = "us-east-1"
	DefaultStandbyRegion = "us-east-2"
)

// Endpoint is one AWS Health endpoint: Region is the one requests are
// signed for, URL the endpoint ("" for the SDK's own for that Region).
type Endpoint struct {
	Region string
	URL    string
}

func (e Endpoint) String() string {
	if e.URL != "" {
		return e.URL + " (" + e.Region + ")"
	}
	return "health." + e.Region + ".amazonaws.com"
}

// HealthClient asks AWS Health at its active endpoint and, when that one
// does not answer (no connection, no response within AttemptTimeout, or
// a 5xx after the SDK's retries), at the standby. A warm function keeps
// using the endpoint that last answered.
type HealthClient struct {
	endpoints []Endpoint
	clients   []*health.Client
	preferred atomic.Int32
	// AttemptTimeout bounds a call to an endpoint that has another behind
	// it, so a silent endpoint leaves time for the next.
	AttemptTimeout time.Duration
	Log            *slog.Logger // slog.Default() when nil
}

// NewHealthClient builds the gate's AWS Health client from cfg. An endpoint
// configured for the SDK (AWS_ENDPOINT_URL_HEALTH, AWS_ENDPOINT_URL or
// cfg.BaseEndpoint) wins: it is the only one used. Otherwise, in the aws
// partition, the active Region comes from resolving GlobalHealthHost
// (lookupCNAME; us-east-1 if that fails) and the other of us-east-1 and
// us-east-2 is the standby. Other partitions use their Region's endpoint.
func NewHealthClient(ctx context.Context, cfg aws.Config, lookupCNAME func(context.Context, string) (string, error), log *slog.Logger) *HealthClient {
	if configured := health.NewFromConfig(cfg).Options().BaseEndpoint; configured != nil {
		return NewHealthClientFor(cfg, []Endpoint{{Region: cfg.Region, URL: *configured}}, log)
	}
	if awsid.PartitionOf(cfg.Region) != awsid.PartitionAWS {
		return NewHealthClientFor(cfg, []Endpoint{{Region: cfg.Region}}, log)
	}
	active := DefaultActiveRegion
	if lookupCNAME != nil {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		cname, err := lookupCNAME(lctx, GlobalHealthHost)
		cancel()
		if r, ok := regionFromHealthHost(cname); err == nil && ok {
			active = r
		} else {
			cmp.Or(log, slog.Default()).Warn("AWS Health active Region not resolved; assuming the default",
				"host", GlobalHealthHost, "cname", cname, "activeRegion", active, "error", fmt.Sprint(err))
		}
	}
	standby := DefaultStandbyRegion
	if active == DefaultStandbyRegion {
		standby = DefaultActiveRegion
	}
	return NewHealthClientFor(cfg, []Endpoint{{Region: active}, {Region: standby}}, log)
}

// NewHealthClientFor builds a client over the given endpoints, tried in order.
func NewHealthClientFor(cfg aws.Config, endpoints []Endpoint, log *slog.Logger) *HealthClient {
	c := &HealthClient{endpoints: endpoints, AttemptTimeout: 8 * time.Second, Log: log}
	for _, e := range endpoints {
		c.clients = append(c.clients, health.NewFromConfig(cfg, func(o *health.Options) {
			o.Region = e.Region
			if e.URL != "" {
				o.BaseEndpoint = aws.String(e.URL)
			}
		}))
	}
	return c
}

// Endpoints lists the endpoints in the order they are tried.
func (c *HealthClient) Endpoints() []Endpoint { return c.endpoints }

func (c *HealthClient) DescribeEvents(ctx context.Context, in *health.DescribeEventsInput, optFns ...func(*health.Options)) (*health.DescribeEventsOutput, error) {
	return failover(ctx, c, func(ctx context.Context, hc *health.Client) (*health.DescribeEventsOutput, error) {
		return hc.DescribeEvents(ctx, in, optFns...)
	})
}

func (c *HealthClient) DescribeEventsForOrganization(ctx context.Context, in *health.DescribeEventsForOrganizationInput, optFns ...func(*health.Options)) (*health.DescribeEventsForOrganizationOutput, error) {
	return failover(ctx, c, func(ctx context.Context, hc *health.Client) (*health.DescribeEventsForOrganizationOutput, error) {
		return hc.DescribeEventsForOrganization(ctx, in, optFns...)
	})
}

func (c *HealthClient) DescribeAffectedAccountsForOrganization(ctx context.Context, in *health.DescribeAffectedAccountsForOrganizationInput, optFns ...func(*health.Options)) (*health.DescribeAffectedAccountsForOrganizationOutput, error) {
	return failover(ctx, c, func(ctx context.Context, hc *health.Client) (*health.DescribeAffectedAccountsForOrganizationOutput, error) {
		return hc.DescribeAffectedAccountsForOrganization(ctx, in, optFns...)
	})
}

// failover calls each endpoint, starting with the preferred one, until one
// answers. An answer that is an error (a refusal, throttling) is final: the
// standby would say the same. A page token from one endpoint may not work
// on the other; the check then fails as a Health error and the stage can
// be retried, which is rarer than rare.
func failover[T any](ctx context.Context, c *HealthClient, call func(context.Context, *health.Client) (T, error)) (T, error) {
	first := int(c.preferred.Load())
	var errs []error
	for i := range c.clients {
		idx := (first + i) % len(c.clients)
		callCtx, cancel := ctx, context.CancelFunc(func() {})
		if i < len(c.clients)-1 && c.AttemptTimeout > 0 {
			callCtx, cancel = context.WithTimeout(ctx, c.AttemptTimeout)
		}
		out, err := call(callCtx, c.clients[idx])
		cancel()
		if err == nil {
			if idx != first {
				c.preferred.Store(int32(idx)) // #nosec G115 -- idx indexes c.clients, a handful of endpoints
				c.logger().WarnContext(ctx, "AWS Health answered on the standby endpoint",
					"endpoint", c.endpoints[idx].String(), "unanswered", c.endpoints[first].String())
			}
			return out, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.endpoints[idx], err))
		if ctx.Err() != nil || !noAnswer(err) {
			return out, errors.Join(errs...)
		}
	}
	var zero T
	return zero, errors.Join(errs...)
}

// noAnswer tells an endpoint that did not answer from one that answered
// with an error.
func noAnswer(err error) bool {
	var sendErr *smithyhttp.RequestSendError
	var respErr *awshttp.ResponseError
	switch {
	case errors.As(err, &sendErr):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &respErr):
		return respErr.HTTPStatusCode() >= 500
	}
	return false
}

// regionFromHealthHost reads the Region from "health.us-east-2.amazonaws.com.".
func regionFromHealthHost(host string) (string, bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	rest, ok := strings.CutPrefix(host, "health.")
	if !ok {
		return "", false
	}
	region, ok := strings.CutSuffix(rest, ".amazonaws.com")
	if !ok || !awsid.IsRegion(region) {
		return "", false
	}
	return region, true
}

func (c *HealthClient) logger() *slog.Logger { return cmp.Or(c.Log, slog.Default()) }
