// Package awstest runs the suite's code against a local AWS: moto_server on
// loopback, started once per test binary, with every test in an account of
// its own so tests stay independent without resetting the server.
package awstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Region is the Region every test client uses.
const Region = "us-east-1"

// DefaultAccount is the account moto uses when a request names none: the
// account a built binary (which cannot add moto's header) acts in.
const DefaultAccount = "123456789012"

// Server is a running moto_server.
type Server struct {
	URL string
	cmd *exec.Cmd
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	nextAcct   atomic.Int64
)

// Moto returns the test binary's moto_server, starting it on first use.
// The test is skipped, not failed, only when moto_server is not installed
// and AWSTEST_REQUIRE is unset; `make test` sets it so CI never skips.
func Moto(tb testing.TB) *Server {
	tb.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		if errors.Is(sharedErr, exec.ErrNotFound) && os.Getenv("AWSTEST_REQUIRE") == "" {
			tb.Skipf("moto_server not installed: %v", sharedErr)
		}
		tb.Fatalf("start moto_server: %v", sharedErr)
	}
	return shared
}

// Main runs a package's tests and stops the shared moto_server afterwards.
// Use it from TestMain: os.Exit(awstest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// Start launches moto_server on a free loopback port and waits until it answers.
func Start() (*Server, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port)) // #nosec G204 -- moto_server found on PATH, test tooling
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	// Its own process group, so Stop reaches it through any wrapper (pyenv
	// shims), and a kill signal if the test process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	if err := s.waitReady(30 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		resp, err := client.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("moto_server at %s did not answer within %s", s.URL, limit)
}

// Stop ends moto_server and everything it started.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	s.cmd = nil
}

// NewAccount returns a 12-digit account ID no other test in this process uses.
func NewAccount() string {
	return fmt.Sprintf("%012d", 100000000000+nextAcct.Add(1))
}

// Config returns an SDK configuration that talks to moto, in a fresh account
// of its own, so a test sees only the resources it made.
func (s *Server) Config(tb testing.TB) (aws.Config, string) {
	tb.Helper()
	acct := NewAccount()
	return s.ConfigFor(tb, acct), acct
}

// ConfigFor returns an SDK configuration that talks to moto as account acct.
func (s *Server) ConfigFor(tb testing.TB, acct string) aws.Config {
	tb.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithBaseEndpoint(s.URL),
		config.WithRetryer(connectionRetryer),
	)
	if err != nil {
		tb.Fatalf("load SDK config: %v", err)
	}
	cfg.APIOptions = append(cfg.APIOptions, AccountHeader(acct))
	return cfg
}

// connectionRetryer retries only dropped connections (moto's threaded HTTP
// server resets one now and then under load; the SDK's default retryer in
// AWS retries them too), 10 ms apart and at most twice. Every answer moto gives,
// errors included, reaches the test on the first attempt, so a test of an
// error path stays fast and its call counts exact.
func connectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 10 * time.Millisecond, nil })
		o.RateLimiter = ratelimit.None
	})
}

// Env returns the standard SDK variables that point a child process (a built
// Lambda binary) at this moto, in moto's default account.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// AccountHeader makes moto act as acct for every request of the client.
func AccountHeader(acct string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Build.Add(middleware.BuildMiddlewareFunc("awstestAccount",
			func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					req.Header.Set("x-moto-account-id", acct)
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
