package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam/catalog"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam/policy"
)

// DefaultAccount is the account a request without moto's account header
// acts in (moto's default, as for a built binary in make local).
const DefaultAccount = awstest.DefaultAccount

// Layer is the IAM-enforcing front of the local AWS: an HTTP server that
// every request of a principal it knows goes through. It reads the
// request's operation and parameters from the wire, derives the resources
// and condition keys IAM would evaluate, evaluates the principal's
// policies (and the resource's, where the stacks create one), and either
// answers AccessDenied in the protocol's own error shape or passes the
// request on unchanged to the backend that serves its service (moto, or a
// fake).
type Layer struct {
	URL string

	srv      *httptest.Server
	motoURL  string
	backends map[string]*httputil.ReverseProxy // by SigV4 signing name; "" is moto
	catalog  *catalog.Catalog

	// hashKeys caches each table's partition key name, for
	// dynamodb:LeadingKeys (by account and table ARN).
	hashKeys sync.Map

	mu         sync.Mutex
	principals map[string]*Principal // by access key ID
	stacks     []*Stack
	allowed    atomic.Int64
	deniedN    atomic.Int64
	denials    []Denial
	report     *reportLog
}

// Principal is an IAM principal of the local AWS: a function's role as
// the templates define it, or a principal a test makes (an operator, a
// tagger, an attacker).
type Principal struct {
	Name     string // the role's logical ID, or the test's name for it
	ARN      string // arn:aws:iam::<account>:role/<name>
	Account  string
	Template string // infra/sam/<capability>.yaml, for a function's role
	Policies []policy.Source
	// Package and Test name the test that runs as the principal, for the report.
	Package, Test string
	key           string
}

// Denial is one call the layer refused.
type Denial struct {
	Principal, Action, Resource, Message string
}

// New starts a layer in front of moto at motoURL. Close stops it.
func New(motoURL string) (*Layer, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	l := &Layer{motoURL: motoURL, backends: map[string]*httputil.ReverseProxy{}, catalog: cat, principals: map[string]*Principal{}}
	if err := l.Route("", motoURL); err != nil {
		return nil, err
	}
	l.report, err = openReport()
	if err != nil {
		return nil, err
	}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	l.URL = l.srv.URL
	return l, nil
}

// Start is New for a test: the layer stops when the test ends.
func Start(tb testing.TB, motoURL string) *Layer {
	tb.Helper()
	l, err := New(motoURL)
	if err != nil {
		tb.Fatalf("start the IAM layer: %v", err)
	}
	tb.Cleanup(l.Close)
	return l
}

// Close stops the layer.
func (l *Layer) Close() {
	l.srv.Close()
	l.report.close()
}

// Route sends the requests signed for a service (its SigV4 signing name:
// "health", "codepipeline", "imagebuilder") to backend instead of moto.
func (l *Layer) Route(signing, backend string) error {
	u, err := url.Parse(backend)
	if err != nil {
		return fmt.Errorf("backend %q: %w", backend, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.backends[signing] = httputil.NewSingleHostReverseProxy(u)
	return nil
}

// AddStack makes the layer evaluate the resource policies st creates.
func (l *Layer) AddStack(st *Stack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stacks = append(l.stacks, st)
}

// Function registers the role of a function of st as a principal.
func (l *Layer) Function(st *Stack, function string) (*Principal, error) {
	role, ok := st.RoleOf(function)
	if !ok {
		return nil, fmt.Errorf("%s has no function %s (it has %s)", st.File, function, strings.Join(st.Functions(), ", "))
	}
	pols, arn, _ := st.RolePolicies(role)
	p := &Principal{Name: role, ARN: arn, Account: st.stack.Env().Account, Template: st.File, Policies: pols}
	l.AddStack(st)
	l.add(p)
	return p, nil
}

// NewPrincipal registers a principal of account with the given identity
// policies (JSON documents).
func (l *Layer) NewPrincipal(name, account string, documents ...string) (*Principal, error) {
	p := &Principal{Name: name, Account: account, ARN: fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name)}
	for i, d := range documents {
		doc, err := policy.Parse([]byte(d))
		if err != nil {
			return nil, fmt.Errorf("%s policy %d: %w", name, i, err)
		}
		p.Policies = append(p.Policies, policy.Source{Name: fmt.Sprintf("%s/%d", name, i), Doc: doc})
	}
	l.add(p)
	return p, nil
}

func (l *Layer) add(p *Principal) {
	p.key = "AKIAIAM" + strings.ToUpper(rand.Text()[:13])
	l.mu.Lock()
	l.principals[p.key] = p
	l.mu.Unlock()
	l.report.principal(p)
}

// Credentials are the principal's access key: whatever a client signs
// with them is evaluated as this principal.
func (p *Principal) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(p.key, "iam-layer-secret", "")
}

// Env returns the SDK variables that make a child process (a built Lambda
// binary) call AWS through the layer as p.
func (l *Layer) Env(p *Principal) []string {
	return []string{"AWS_ENDPOINT_URL=" + l.URL, "AWS_ACCESS_KEY_ID=" + p.key, "AWS_SECRET_ACCESS_KEY=iam-layer-secret", "AWS_SESSION_TOKEN="}
}

// Config returns a copy of base (a moto configuration, with its account
// header) whose calls go through the layer as p.
func (l *Layer) Config(base aws.Config, p *Principal) aws.Config {
	cfg := base.Copy()
	cfg.BaseEndpoint = aws.String(l.URL)
	cfg.Credentials = p.Credentials()
	// config.WithBaseEndpoint's value is also a per-service endpoint source,
	// which a client prefers to cfg.BaseEndpoint: point it here too.
	cfg.ConfigSources = slices.Clone(cfg.ConfigSources)
	for i, src := range cfg.ConfigSources {
		if lo, ok := src.(config.LoadOptions); ok {
			lo.BaseEndpoint = l.URL
			cfg.ConfigSources[i] = lo
		}
	}
	return cfg
}

// Counts returns how many calls the layer allowed and denied.
func (l *Layer) Counts() (allowed, denied int64) { return l.allowed.Load(), l.deniedN.Load() }

// Denials returns the calls the layer refused, in order.
func (l *Layer) Denials() []Denial {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.denials)
}

func (l *Layer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		unreadable(w, err)
		return
	}
	c, err := readCall(r, body, DefaultAccount)
	if err != nil {
		unreadable(w, err)
		return
	}
	l.mu.Lock()
	p := l.principals[c.accessKey]
	backend := l.backends[c.signing]
	if backend == nil {
		backend = l.backends[""]
	}
	l.mu.Unlock()
	if p == nil {
		unreadable(w, fmt.Errorf("access key %s is no principal of this layer", c.accessKey))
		return
	}
	if err := l.authorize(r.Context(), p, c); err != nil {
		denied(w, c, err.Error())
		return
	}
	backend.ServeHTTP(w, r)
}

// Authorize evaluates one call that a fake answers in-process (behind the
// SDK's interface rather than the wire): creds are the caller's (as its
// client would sign with), account the account it acts in, service the
// SigV4 signing name and form the operation's parameters in the Query
// protocol (Action=...). It returns the error AWS would answer, or nil.
func (l *Layer) Authorize(ctx context.Context, creds aws.CredentialsProvider, account, region, service string, form url.Values) error {
	v, err := creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	l.mu.Lock()
	p := l.principals[v.AccessKeyID]
	l.mu.Unlock()
	if p == nil {
		return fmt.Errorf("access key %s is no principal of this layer", v.AccessKeyID)
	}
	c := &call{protocol: awsQuery, signing: service, service: service, operation: form.Get("Action"), region: region, accessKey: v.AccessKeyID, account: account, form: form}
	if service == "ec2" {
		c.protocol = ec2Query
	}
	if err := l.authorize(ctx, p, c); err != nil {
		return &AccessDenied{Code: "UnauthorizedOperation", Message: err.Error()}
	}
	return nil
}

// AccessDenied is the error Authorize returns, shaped as the SDK's API
// errors are (smithy.APIError).
type AccessDenied struct{ Code, Message string }

func (e *AccessDenied) Error() string                 { return "api error " + e.Code + ": " + e.Message }
func (e *AccessDenied) ErrorCode() string             { return e.Code }
func (e *AccessDenied) ErrorMessage() string          { return e.Message }
func (e *AccessDenied) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

// authorize evaluates every need of c; the first denied one is the error.
func (l *Layer) authorize(ctx context.Context, p *Principal, c *call) error {
	if c.account != p.Account {
		return l.deny(p, c.service+":"+c.operation, "*", notAuthorized(p.ARN, c.service+":"+c.operation, "*", "in account "+c.account))
	}
	needs, err := c.needs()
	if err != nil {
		return l.deny(p, c.service+":"+c.operation, "*", err)
	}
	for _, n := range l.implied(c, needs) {
		if err := l.evaluate(ctx, p, c, n); err != nil {
			return err
		}
	}
	l.allowed.Add(1)
	return nil
}

func (l *Layer) evaluate(ctx context.Context, p *Principal, c *call, n need) error {
	act, ok := l.catalog.Action(n.action)
	if !ok {
		return l.deny(p, n.action, n.arn, fmt.Errorf("the action %s is not in shared/testkit/iam/catalog/actions.json: add its Service Authorization Reference entry", n.action))
	}
	if n.rootOf != "" {
		vol, err := l.rootVolume(ctx, c, n.rootOf)
		if err != nil {
			return l.deny(p, n.action, "*", fmt.Errorf("read the root volume of %s: %w", n.rootOf, err))
		}
		_, n.arn, _ = c.ec2Resource(vol)
		n.tagsOf = vol
	}
	if n.sesFrom != "" {
		id, err := l.sesIdentity(ctx, c, n.sesFrom)
		if err != nil {
			return l.deny(p, n.action, "*", err)
		}
		n.arn = c.arnOf("ses", c.region, c.account, "identity/"+id)
	}
	if n.secretID != "" {
		a, err := l.secretARN(ctx, c, n.secretID)
		if err != nil {
			return l.deny(p, n.action, "*", err)
		}
		n.arn = a
	}
	resource := "*"
	if n.typ != "" {
		var rt *catalog.ActionResource
		for i := range act.Resources {
			if act.Resources[i].Type.Name == n.typ {
				rt = &act.Resources[i]
			}
		}
		if rt == nil {
			return l.deny(p, n.action, n.arn, fmt.Errorf("the IAM layer derived a %s resource for %s, which the Service Authorization Reference does not list for it", n.typ, n.action))
		}
		if !arnFits(rt.Type.ARN, n.arn) {
			return l.deny(p, n.action, n.arn, fmt.Errorf("the resource %s of %s does not fit the %s ARN format %s", n.arn, n.action, n.typ, rt.Type.ARN))
		}
		resource = n.arn
	} else if len(act.Resources) > 0 {
		// The action takes resource types but the request names none of
		// them (a listing): IAM evaluates it on every resource of the
		// first required type.
		for _, r := range act.Resources {
			if r.Required {
				resource = wildcardARN(r.Type.ARN, c)
				break
			}
		}
	}
	keys := map[string][]string{
		"aws:PrincipalArn":     {p.ARN},
		"aws:PrincipalAccount": {p.Account},
		// The SDKs call AWS over TLS; the layer's loopback HTTP stands in for it.
		"aws:SecureTransport": {"true"},
	}
	for k, v := range n.keys {
		keys[k] = v
	}
	if n.item != nil {
		lead, err := l.leadingKey(ctx, c, n.arn, n.item)
		if err != nil {
			return l.deny(p, n.action, resource, fmt.Errorf("read the key schema of %s for dynamodb:LeadingKeys: %w", n.arn, err))
		}
		if lead != "" {
			keys["dynamodb:LeadingKeys"] = []string{lead}
		}
	}
	if n.tagsOf != "" {
		tags, err := l.ec2Tags(ctx, c, n.tagsOf)
		if err != nil {
			return l.deny(p, n.action, resource, fmt.Errorf("read the tags of %s for aws:ResourceTag: %w", n.tagsOf, err))
		}
		for k, v := range tags {
			keys["aws:ResourceTag/"+k] = []string{v}
			keys["ec2:ResourceTag/"+k] = []string{v}
		}
	}
	resAcct := accountOfARN(resource)
	if resAcct == "" && resource != "*" {
		resAcct = c.account
	}
	var rp []policy.Source
	kind := policy.OrdinaryResourcePolicy
	l.mu.Lock()
	for _, st := range l.stacks {
		if src, k, ok := st.ResourcePolicy(resource); ok {
			rp, kind = append(rp, src...), k
		}
	}
	l.mu.Unlock()
	known := append(act.Keys(), "ec2:ResourceTag/${TagKey}")
	res, err := policy.Evaluate(policy.Request{
		PrincipalARN: p.ARN, PrincipalAccount: p.Account, Action: n.action, Resource: resource, ResourceAccount: resAcct,
		Keys: keys, KnownKeys: known,
	}, p.Policies, rp, kind)
	if err != nil {
		return l.deny(p, n.action, resource, notAuthorized(p.ARN, n.action, resource, "because the IAM layer failed closed: "+err.Error()))
	}
	l.report.decision(p, n.action, resource, res)
	if !res.Allowed {
		return l.deny(p, n.action, resource, notAuthorized(p.ARN, n.action, resource, res.Reason))
	}
	return nil
}

// notAuthorized is AWS's message for a denied call: "User: <principal> is
// not authorized to perform: <action> on resource: <resource> <reason>".
func notAuthorized(principal, action, resource, reason string) error {
	return errors.New("User: " + principal + " is not authorized to perform: " + action + " on resource: " + resource + " " + reason)
}

func (l *Layer) deny(p *Principal, action, resource string, err error) error {
	l.deniedN.Add(1)
	l.mu.Lock()
	l.denials = append(l.denials, Denial{Principal: p.Name, Action: action, Resource: resource, Message: err.Error()})
	l.mu.Unlock()
	return err
}

// implied adds what a call needs beyond its own action because of what
// the stacks made: publishing to a topic encrypted with a KMS key needs
// kms:GenerateDataKey* and kms:Decrypt on the key, which SNS asks for on
// the publisher's behalf (Amazon SNS Developer Guide, "Encryption at rest":
// key management).
func (l *Layer) implied(c *call, needs []need) []need {
	out := slices.Clone(needs)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range needs {
		if n.action != "sns:Publish" {
			continue
		}
		for _, st := range l.stacks {
			key, ok := st.TopicKey(n.arn)
			if !ok {
				continue
			}
			via := map[string][]string{"aws:CalledVia": {"sns.amazonaws.com"}, "kms:ViaService": {"sns." + c.region + ".amazonaws.com"}}
			out = append(out, need{action: "kms:GenerateDataKey", typ: "key", arn: key, keys: via}, need{action: "kms:Decrypt", typ: "key", arn: key, keys: via})
			break
		}
	}
	return out
}

// admin is an EC2 client of moto as the call's account, for the facts IAM
// reads from the resources themselves (tags, an instance's root volume).
func (l *Layer) admin(c *call) *ec2.Client { return ec2.NewFromConfig(l.adminConfig(c)) }

// adminConfig is the SDK configuration of moto as the call's account
// admin, past the layer: the clients that read those facts are built from it.
func (l *Layer) adminConfig(c *call) aws.Config {
	return aws.Config{
		Region: c.region, BaseEndpoint: aws.String(l.motoURL),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		APIOptions:  []func(*middleware.Stack) error{awstest.AccountHeader(c.account)},
	}
}

// rootVolume returns the ID of the volume attached at an instance's root device.
func (l *Layer) rootVolume(ctx context.Context, c *call, instanceID string) (string, error) {
	out, err := l.admin(c).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		return "", err
	}
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			for _, m := range inst.BlockDeviceMappings {
				if aws.ToString(m.DeviceName) == aws.ToString(inst.RootDeviceName) && m.Ebs != nil {
					return aws.ToString(m.Ebs.VolumeId), nil
				}
			}
		}
	}
	return "", fmt.Errorf("instance %s has no root volume", instanceID)
}

// leadingKey returns the partition key value of a DynamoDB item or key, as
// a string, the table's key schema read from moto as the account's admin
// (once per table); "" when the item lacks it, or the table cannot be read
// (the call then fails as DynamoDB answers it).
func (l *Layer) leadingKey(ctx context.Context, c *call, tableARN string, item map[string]any) (string, error) {
	name, ok := l.hashKeys.Load(c.account + " " + tableARN)
	if !ok {
		db := dynamodb.NewFromConfig(l.adminConfig(c))
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tableARN[strings.LastIndex(tableARN, "/")+1:])})
		if err != nil {
			// No such table: the call itself fails where it is sent, and
			// there is no partition key to evaluate.
			return "", nil //nolint:nilerr // see above
		}
		for _, k := range out.Table.KeySchema {
			if k.KeyType == dbtypes.KeyTypeHash {
				name = aws.ToString(k.AttributeName)
			}
		}
		l.hashKeys.Store(c.account+" "+tableARN, name)
	}
	v, _ := item[name.(string)].(map[string]any)
	for _, typ := range []string{"S", "N", "B"} {
		if s, ok := v[typ].(string); ok {
			return s, nil
		}
	}
	return "", nil
}

// ec2Tags reads an EC2 resource's tags from moto, as the account's admin.
func (l *Layer) ec2Tags(ctx context.Context, c *call, id string) (map[string]string, error) {
	out, err := l.admin(c).DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}})
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range out.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

var templateVar = regexp.MustCompile(`\$\{[A-Za-z0-9]+\}`)

// arnFits reports whether arn has the shape of an ARN template of the
// Service Authorization Reference (each ${Var} any run of characters).
func arnFits(template, arn string) bool {
	parts := templateVar.Split(template, -1)
	pattern := ""
	for i, p := range parts {
		if i > 0 {
			pattern += ".+"
		}
		pattern += regexp.QuoteMeta(p)
	}
	// Snapshot and image ARNs have an empty account: ${Account} may be empty.
	ok, _ := regexp.MatchString("^"+strings.ReplaceAll(pattern, ".+", ".*")+"$", arn)
	return ok
}

// wildcardARN fills an ARN template for the call with * for every
// resource-specific variable.
func wildcardARN(template string, c *call) string {
	return templateVar.ReplaceAllStringFunc(template, func(v string) string {
		switch v {
		case "${Partition}":
			return partitionOf(c.region)
		case "${Region}":
			return c.region
		case "${Account}":
			return c.account
		}
		return "*"
	})
}

// accountOfARN returns the account field of an ARN, or "".
func accountOfARN(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
