package iam

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/testkit/cfn"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

// Options bind a template to what a test made.
type Options struct {
	// Names are the physical names of the stack's resources the test made,
	// by logical ID (a table's name, a topic's or queue's name).
	Names map[string]string
	// Parameters are stack parameters that differ from their defaults.
	Parameters map[string]string
	// Routes send a service (its SigV4 signing name) to a fake.
	Routes map[string]string
}

// Function is one function's role in a test: Config is the SDK
// configuration its clients are built on.
type Function struct {
	Layer     *Layer
	Stack     *Stack
	Principal *Principal
	Config    aws.Config
	account   string
}

// As runs a function's calls under its role: cfg is a moto configuration
// of account acct (awstest's), file a template under infra/sam and function
// its logical ID there. A layer in front of moto (and the fakes in
// opts.Routes) evaluates every call; it stops with the test.
func As(tb testing.TB, cfg aws.Config, acct, file, function string, opts Options) *Function {
	tb.Helper()
	f, err := NewFunction(cfg, acct, file, function, opts)
	if err != nil {
		tb.Fatalf("IAM layer for %s: %v", function, err)
	}
	tb.Cleanup(func() {
		// What the layer refused, beside the test's own failure: a handler
		// that logs nothing still shows which grant it lacked.
		for _, d := range f.Layer.Denials() {
			tb.Logf("IAM layer denied %s: %s", d.Principal, d.Message)
		}
		f.Layer.Close()
	})
	f.Principal.Test, _, _ = strings.Cut(tb.Name(), "/")
	f.Principal.Package = packageDir()
	f.Layer.report.principal(f.Principal)
	return f
}

// packageDir is the test's package directory, relative to the module root.
func packageDir() string {
	root, err := sample.Root()
	if err != nil {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(root, wd)
	if err != nil {
		return ""
	}
	return "./" + filepath.ToSlash(rel)
}

// NewFunction is As without a test: the caller closes f.Layer.
func NewFunction(cfg aws.Config, acct, file, function string, opts Options) (*Function, error) {
	motoURL := aws.ToString(cfg.BaseEndpoint)
	if motoURL == "" {
		return nil, fmt.Errorf("the configuration has no BaseEndpoint (a moto configuration from awstest)")
	}
	st, err := LoadStack(file, cfn.Env{Account: acct, Region: cfg.Region, Parameters: opts.Parameters, Names: opts.Names})
	if err != nil {
		return nil, err
	}
	l, err := New(motoURL)
	if err != nil {
		return nil, err
	}
	for signing, backend := range opts.Routes {
		if err := l.Route(signing, backend); err != nil {
			l.Close()
			return nil, err
		}
	}
	p, err := l.Function(st, function)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &Function{Layer: l, Stack: st, Principal: p, Config: l.Config(cfg, p), account: acct}, nil
}

// OtherPrincipal registers another principal in the function's layer and
// returns a configuration that calls as it: an operator, a tagger, an
// attacker with the given identity policies (JSON).
func (f *Function) OtherPrincipal(tb testing.TB, base aws.Config, name string, documents ...string) aws.Config {
	tb.Helper()
	p, err := f.Layer.NewPrincipal(name, f.account, documents...)
	if err != nil {
		tb.Fatal(err)
	}
	return f.Layer.Config(base, p)
}

// Authorizer returns the check a fake that answers in-process runs before
// it answers a call of the function (see Layer.Authorize).
func (f *Function) Authorizer(service string) func(ctx context.Context, form url.Values) error {
	return func(ctx context.Context, form url.Values) error {
		return f.Layer.Authorize(ctx, f.Config.Credentials, f.account, f.Config.Region, service, form)
	}
}

// WantDenied fails the test unless err is AWS's access-denied answer with
// code (UnauthorizedOperation, AccessDeniedException, AuthorizationError),
// naming action on a resource that contains resource ("" for any).
func WantDenied(tb testing.TB, err error, code, action, resource string) {
	tb.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != code {
		tb.Fatalf("call = %v, want %s", err, code)
	}
	if msg := api.ErrorMessage(); !strings.Contains(msg, "is not authorized to perform: "+action+" ") || !strings.Contains(msg, resource) {
		tb.Errorf("denial %q does not name %s on %s", msg, action, resource)
	}
}
