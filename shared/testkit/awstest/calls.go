package awstest

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Calls counts the API operations a client sends, by "Service.Operation".
// Attach it with cfg.APIOptions = append(cfg.APIOptions, calls.Middleware).
// Tests use it to show that a run made no write calls; benchmarks to report
// calls per operation.
type Calls struct {
	mu sync.Mutex
	n  map[string]int
}

// NewCalls returns an empty counter.
func NewCalls() *Calls { return &Calls{n: map[string]int{}} }

// Middleware records each attempted operation once (retries included in
// the SDK's own loop are not counted again: it sits before the retryer).
func (c *Calls) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("awstestCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			key := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.n[key]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// Count returns how many calls of op ("EC2.DescribeVolumes") were made.
func (c *Calls) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// Total returns all calls whose operation name starts with one of prefixes
// ("Describe", "Delete"); with no prefixes, every call.
func (c *Calls) Total(prefixes ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for key, n := range c.n {
		op := key[strings.IndexByte(key, '.')+1:]
		if len(prefixes) == 0 {
			total += n
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(op, p) {
				total += n
				break
			}
		}
	}
	return total
}

// Writes returns the calls that are not reads (Describe, List, Get,
// DynamoDB's Scan and Query, and KMS's GenerateMac and VerifyMac, which
// change nothing).
func (c *Calls) Writes() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for key, n := range c.n {
		op := key[strings.IndexByte(key, '.')+1:]
		if strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Get") ||
			op == "Scan" || op == "Query" || op == "GenerateMac" || op == "VerifyMac" {
			continue
		}
		out[key] = n
	}
	return out
}

// Reset forgets every count.
func (c *Calls) Reset() {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
}

// String lists the counts, sorted, for failure messages and logs.
func (c *Calls) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.n))
	for k := range c.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(c.n[k]))
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}
