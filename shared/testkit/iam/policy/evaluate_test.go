package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	account      = "123456789012"
	otherAccount = "210987654321"
	roleARN      = "arn:aws:iam::123456789012:role/SnapshotRole"
	otherRoleARN = "arn:aws:iam::210987654321:role/Auditor"
	sessionARN   = "arn:aws:sts::123456789012:assumed-role/SnapshotRole/i-0abc"
	volumeARN    = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0abc"
	topicARN     = "arn:aws:sns:us-east-1:123456789012:RootVolumeTopic"
	keyARN       = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// parsed parses a document or fails the test.
func parsed(t testing.TB, js string) Document {
	t.Helper()
	d, err := Parse([]byte(js))
	if err != nil {
		t.Fatalf("Parse(%s) error: %v", js, err)
	}
	return d
}

// sources names documents prefix0, prefix1, ...
func sources(t testing.TB, prefix string, docs []string) []Source {
	t.Helper()
	var out []Source
	for i, js := range docs {
		out = append(out, Source{Name: fmt.Sprintf("%s%d", prefix, i), Doc: parsed(t, js)})
	}
	return out
}

// stmts wraps statements in a document.
func stmts(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func allowedBy(by *Match, pt PolicyType) Result {
	return Result{Decision: Allow, Allowed: true, By: by, Policy: pt}
}

func allowedByBoth(by, also *Match) Result {
	return Result{Decision: Allow, Allowed: true, By: by, Also: also, Policy: IdentityBased}
}

func deniedBy(by *Match, pt PolicyType) Result {
	article := "an"
	if pt == ResourceBased {
		article = "a"
	}
	return Result{Decision: ExplicitDeny, By: by, Policy: pt,
		Reason: "with an explicit deny in " + article + " " + string(pt) + " policy"}
}

func implicit(pt PolicyType, action string) Result {
	return Result{Decision: ImplicitDeny, Policy: pt,
		Reason: "because no " + string(pt) + " policy allows the " + action + " action"}
}

func m(source string, i int, sid string) *Match {
	return &Match{Source: source, Statement: i, Sid: sid}
}

// roleReq is ec2:DeleteVolume on volumeARN by roleARN, same account.
func roleReq() Request {
	return Request{PrincipalARN: roleARN, Action: "ec2:DeleteVolume", Resource: volumeARN, ResourceAccount: account}
}

func with(r Request, f func(*Request)) Request {
	f(&r)
	return r
}

const (
	allowDeleteVolume = `{"Sid":"AllowDelete","Effect":"Allow","Action":"ec2:DeleteVolume","Resource":"arn:aws:ec2:us-east-1:123456789012:volume/*"}`
	denyDeleteVolume  = `{"Sid":"DenyDelete","Effect":"Deny","Action":"ec2:DeleteVolume","Resource":"*"}`
)

type evalCase struct {
	name     string
	req      Request
	identity []string
	resource []string
	kind     ResourcePolicyKind
	want     Result
}

func runEval(t *testing.T, tests []evalCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Evaluate(tt.req, sources(t, "id", tt.identity), sources(t, "res", tt.resource), tt.kind)
			if err != nil {
				t.Fatalf("Evaluate(%+v) error: %v", tt.req, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Evaluate(%+v) = %+v, want %+v; diff (-want +got):\n%s", tt.req, got, tt.want, diff)
			}
		})
	}
}

func TestEvaluateOrder(t *testing.T) {
	runEval(t, []evalCase{
		{
			name:     "identity allow",
			req:      roleReq(),
			identity: []string{stmts(allowDeleteVolume)},
			want:     allowedBy(m("id0", 0, "AllowDelete"), IdentityBased),
		},
		{
			name: "no policy: implicit deny",
			req:  roleReq(),
			want: implicit(IdentityBased, "ec2:DeleteVolume"),
		},
		{
			name:     "policy for another action: implicit deny",
			req:      with(roleReq(), func(r *Request) { r.Action = "ec2:DeleteSnapshot" }),
			identity: []string{stmts(allowDeleteVolume)},
			want:     implicit(IdentityBased, "ec2:DeleteSnapshot"),
		},
		{
			name:     "explicit deny in identity policy beats allow",
			req:      roleReq(),
			identity: []string{stmts(allowDeleteVolume), stmts(denyDeleteVolume)},
			want:     deniedBy(m("id1", 0, "DenyDelete"), IdentityBased),
		},
		{
			name:     "explicit deny before allow in the same document",
			req:      roleReq(),
			identity: []string{stmts(denyDeleteVolume, allowDeleteVolume)},
			want:     deniedBy(m("id0", 0, "DenyDelete"), IdentityBased),
		},
		{
			name:     "explicit deny in resource policy beats identity allow",
			req:      with(roleReq(), func(r *Request) { r.Resource = topicARN; r.Action = "sns:Publish" }),
			identity: []string{stmts(`{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}`)},
			resource: []string{stmts(`{"Sid":"NoPublish","Effect":"Deny","Principal":"*","Action":"sns:Publish","Resource":"*"}`)},
			want:     deniedBy(m("res0", 0, "NoPublish"), ResourceBased),
		},
		{
			name:     "explicit deny in identity policy beats resource allow",
			req:      with(roleReq(), func(r *Request) { r.Resource = topicARN; r.Action = "sns:Publish" }),
			identity: []string{stmts(`{"Sid":"D","Effect":"Deny","Action":"sns:*","Resource":"*"}`)},
			resource: []string{stmts(`{"Effect":"Allow","Principal":{"AWS":"` + roleARN + `"},"Action":"sns:Publish","Resource":"*"}`)},
			want:     deniedBy(m("id0", 0, "D"), IdentityBased),
		},
		{
			name:     "identity deny is reported before resource deny",
			req:      with(roleReq(), func(r *Request) { r.Resource = topicARN; r.Action = "sns:Publish" }),
			identity: []string{stmts(`{"Sid":"D","Effect":"Deny","Action":"sns:*","Resource":"*"}`)},
			resource: []string{stmts(`{"Sid":"R","Effect":"Deny","Principal":"*","Action":"sns:Publish","Resource":"*"}`)},
			want:     deniedBy(m("id0", 0, "D"), IdentityBased),
		},
		{
			name: "deny whose condition fails does not deny",
			req:  with(roleReq(), func(r *Request) { r.Keys = map[string][]string{"aws:ResourceTag/Owner": {"suite"}} }),
			identity: []string{stmts(allowDeleteVolume,
				`{"Sid":"DenyUntagged","Effect":"Deny","Action":"ec2:DeleteVolume","Resource":"*","Condition":{"Null":{"aws:ResourceTag/Owner":"true"}}}`)},
			want: allowedBy(m("id0", 0, "AllowDelete"), IdentityBased),
		},
		{
			name: "deny whose condition holds denies",
			req:  roleReq(),
			identity: []string{stmts(allowDeleteVolume,
				`{"Sid":"DenyUntagged","Effect":"Deny","Action":"ec2:DeleteVolume","Resource":"*","Condition":{"Null":{"aws:ResourceTag/Owner":"true"}}}`)},
			want: deniedBy(m("id0", 1, "DenyUntagged"), IdentityBased),
		},
		{
			name:     "first allowing statement is reported",
			req:      roleReq(),
			identity: []string{stmts(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), stmts(`{"Sid":"A","Effect":"Allow","Action":"ec2:*","Resource":"*"}`, allowDeleteVolume)},
			want:     allowedBy(m("id1", 0, "A"), IdentityBased),
		},
	})
}

func TestEvaluateActionAndResource(t *testing.T) {
	allow := func(action, resource string) string {
		return stmts(fmt.Sprintf(`{"Sid":"S","Effect":"Allow","Action":%s,"Resource":%s}`, action, resource))
	}
	by := m("id0", 0, "S")
	deleteVolume := implicit(IdentityBased, "ec2:DeleteVolume")
	runEval(t, []evalCase{
		{name: "action wildcard *", req: roleReq(), identity: []string{allow(`"ec2:Delete*"`, `"*"`)}, want: allowedBy(by, IdentityBased)},
		{name: "action wildcard ?", req: roleReq(), identity: []string{allow(`"ec2:Delete?olume"`, `"*"`)}, want: allowedBy(by, IdentityBased)},
		{name: "action ? is one character", req: roleReq(), identity: []string{allow(`"ec2:Delete?"`, `"*"`)}, want: deleteVolume},
		{name: "action star alone", req: roleReq(), identity: []string{allow(`"*"`, `"*"`)}, want: allowedBy(by, IdentityBased)},
		{name: "action is case-insensitive in the policy", req: roleReq(), identity: []string{allow(`"EC2:deletevolume"`, `"*"`)}, want: allowedBy(by, IdentityBased)},
		{name: "action is case-insensitive in the request", req: with(roleReq(), func(r *Request) { r.Action = "EC2:DELETEVOLUME" }), identity: []string{allow(`"ec2:DeleteVolume"`, `"*"`)}, want: allowedBy(by, IdentityBased)},
		{name: "action list", req: roleReq(), identity: []string{allow(`["ec2:CreateVolume","ec2:DeleteVolume"]`, `"*"`)}, want: allowedBy(by, IdentityBased)},
		{name: "other service", req: roleReq(), identity: []string{allow(`"ebs:DeleteVolume"`, `"*"`)}, want: deleteVolume},
		{name: "NotAction allow excludes the action", req: roleReq(),
			identity: []string{stmts(`{"Sid":"S","Effect":"Allow","NotAction":"ec2:DeleteVolume","Resource":"*"}`)}, want: deleteVolume},
		{name: "NotAction allow covers other actions", req: with(roleReq(), func(r *Request) { r.Action = "ec2:DeleteSnapshot" }),
			identity: []string{stmts(`{"Sid":"S","Effect":"Allow","NotAction":"ec2:DeleteVolume","Resource":"*"}`)}, want: allowedBy(by, IdentityBased)},
		{name: "NotAction deny denies everything else", req: roleReq(),
			identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"ReadOnly","Effect":"Deny","NotAction":["ec2:Describe*","ec2:Get*"],"Resource":"*"}`)},
			want:     deniedBy(m("id0", 1, "ReadOnly"), IdentityBased)},
		{name: "NotAction deny spares listed actions", req: with(roleReq(), func(r *Request) { r.Action = "ec2:DescribeVolumes"; r.Resource = "*" }),
			identity: []string{stmts(`{"Sid":"S","Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"ReadOnly","Effect":"Deny","NotAction":["ec2:Describe*","ec2:Get*"],"Resource":"*"}`)},
			want:     allowedBy(by, IdentityBased)},

		{name: "resource exact", req: roleReq(), identity: []string{allow(`"ec2:DeleteVolume"`, `"`+volumeARN+`"`)}, want: allowedBy(by, IdentityBased)},
		{name: "resource wildcard", req: roleReq(), identity: []string{allow(`"ec2:DeleteVolume"`, `"arn:aws:ec2:*:123456789012:volume/*"`)}, want: allowedBy(by, IdentityBased)},
		{name: "resource ?", req: roleReq(), identity: []string{allow(`"ec2:DeleteVolume"`, `"arn:aws:ec2:us-east-1:123456789012:volume/vol-0ab?"`)}, want: allowedBy(by, IdentityBased)},
		{name: "resource is case-sensitive", req: roleReq(), identity: []string{allow(`"ec2:DeleteVolume"`, `"arn:aws:ec2:us-east-1:123456789012:Volume/*"`)}, want: deleteVolume},
		{name: "resource in another account", req: roleReq(), identity: []string{allow(`"ec2:DeleteVolume"`, `"arn:aws:ec2:us-east-1:210987654321:volume/*"`)}, want: deleteVolume},
		{name: "resource list", req: roleReq(), identity: []string{allow(`"ec2:DeleteVolume"`, `["arn:aws:ec2:us-east-1:123456789012:snapshot/*","`+volumeARN+`"]`)}, want: allowedBy(by, IdentityBased)},
		{name: "resource * for action without resource types", req: with(roleReq(), func(r *Request) { r.Action = "ec2:DescribeVolumes"; r.Resource = "*" }),
			identity: []string{allow(`"ec2:Describe*"`, `"*"`)}, want: allowedBy(by, IdentityBased)},
		{name: "ARN resource does not cover a request for *", req: with(roleReq(), func(r *Request) { r.Action = "ec2:DescribeVolumes"; r.Resource = "*" }),
			identity: []string{allow(`"ec2:Describe*"`, `"arn:aws:ec2:*:*:*"`)}, want: implicit(IdentityBased, "ec2:DescribeVolumes")},
		{name: "NotResource allow excludes listed", req: roleReq(),
			identity: []string{stmts(`{"Sid":"S","Effect":"Allow","Action":"ec2:DeleteVolume","NotResource":"arn:aws:ec2:*:*:volume/vol-0abc"}`)}, want: deleteVolume},
		{name: "NotResource allow covers others", req: roleReq(),
			identity: []string{stmts(`{"Sid":"S","Effect":"Allow","Action":"ec2:DeleteVolume","NotResource":"arn:aws:ec2:*:*:snapshot/*"}`)}, want: allowedBy(by, IdentityBased)},
		{name: "NotResource deny", req: roleReq(),
			identity: []string{stmts(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Sid":"OnlySnapshots","Effect":"Deny","Action":"ec2:DeleteVolume","NotResource":"arn:aws:ec2:*:*:snapshot/*"}`)},
			want:     deniedBy(m("id0", 1, "OnlySnapshots"), IdentityBased)},
	})
}

func TestEvaluateResourcePolicies(t *testing.T) {
	publish := func(r *Request) { r.Action = "sns:Publish"; r.Resource = topicARN }
	sameAccount := with(roleReq(), publish)
	crossAccount := with(roleReq(), func(r *Request) { publish(r); r.PrincipalARN = otherRoleARN })
	identityAllow := stmts(`{"Sid":"IdAllow","Effect":"Allow","Action":"sns:Publish","Resource":"*"}`)
	grant := func(principal string) string {
		return stmts(`{"Sid":"Grant","Effect":"Allow","Principal":` + principal + `,"Action":"sns:Publish","Resource":"` + topicARN + `"}`)
	}
	publishDenied := implicit(IdentityBased, "sns:Publish")
	noResourceAllow := implicit(ResourceBased, "sns:Publish")
	runEval(t, []evalCase{
		{name: "same account: resource policy naming the role allows alone", req: sameAccount,
			resource: []string{grant(`{"AWS":"` + roleARN + `"}`)}, want: allowedBy(m("res0", 0, "Grant"), ResourceBased)},
		{name: "same account: identity policy allows alone", req: sameAccount,
			identity: []string{identityAllow}, resource: []string{grant(`{"AWS":"` + otherRoleARN + `"}`)}, want: allowedBy(m("id0", 0, "IdAllow"), IdentityBased)},
		{name: "same account: neither allows", req: sameAccount,
			resource: []string{grant(`{"AWS":"` + otherRoleARN + `"}`)}, want: publishDenied},
		{name: "same account: account principal delegates to IAM, which does not allow", req: sameAccount,
			resource: []string{grant(`{"AWS":"` + account + `"}`)}, want: publishDenied},
		{name: "same account: root principal delegates to IAM, which does not allow", req: sameAccount,
			resource: []string{grant(`{"AWS":"arn:aws:iam::123456789012:root"}`)}, want: publishDenied},
		{name: "same account: root principal delegates to IAM, which allows", req: sameAccount,
			identity: []string{identityAllow}, resource: []string{grant(`{"AWS":"arn:aws:iam::123456789012:root"}`)}, want: allowedBy(m("id0", 0, "IdAllow"), IdentityBased)},
		{name: "same account: principal star", req: sameAccount,
			resource: []string{grant(`"*"`)}, want: allowedBy(m("res0", 0, "Grant"), ResourceBased)},
		{name: "same account: AWS star", req: sameAccount,
			resource: []string{grant(`{"AWS":"*"}`)}, want: allowedBy(m("res0", 0, "Grant"), ResourceBased)},
		{name: "same account: role ARN covers its session", req: with(sameAccount, func(r *Request) { r.PrincipalARN = sessionARN }),
			resource: []string{grant(`{"AWS":"` + roleARN + `"}`)}, want: allowedBy(m("res0", 0, "Grant"), ResourceBased)},
		{name: "same account: role ARN with a path covers its session", req: with(sameAccount, func(r *Request) { r.PrincipalARN = sessionARN }),
			resource: []string{grant(`{"AWS":"arn:aws:iam::123456789012:role/suite/SnapshotRole"}`)}, want: allowedBy(m("res0", 0, "Grant"), ResourceBased)},
		{name: "same account: another role does not cover the session", req: with(sameAccount, func(r *Request) { r.PrincipalARN = sessionARN }),
			resource: []string{grant(`{"AWS":"arn:aws:iam::123456789012:role/Snapshot"}`)}, want: publishDenied},
		{name: "same account: unknown resource account counts as same", req: with(sameAccount, func(r *Request) { r.ResourceAccount = "" }),
			resource: []string{grant(`{"AWS":"` + roleARN + `"}`)}, want: allowedBy(m("res0", 0, "Grant"), ResourceBased)},
		{name: "same account: principal condition", req: with(sameAccount, func(r *Request) {
			r.Keys = map[string][]string{"aws:PrincipalAccount": {account}}
		}),
			resource: []string{stmts(`{"Sid":"Org","Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}}`)},
			want:     allowedBy(m("res0", 0, "Org"), ResourceBased)},

		{name: "cross account: identity alone is not enough", req: crossAccount,
			identity: []string{identityAllow}, want: noResourceAllow},
		{name: "cross account: resource alone is not enough", req: crossAccount,
			resource: []string{grant(`{"AWS":"` + otherRoleARN + `"}`)}, want: publishDenied},
		{name: "cross account: both allow", req: crossAccount,
			identity: []string{identityAllow}, resource: []string{grant(`{"AWS":"` + otherRoleARN + `"}`)},
			want: allowedByBoth(m("id0", 0, "IdAllow"), m("res0", 0, "Grant"))},
		{name: "cross account: resource names the caller's account", req: crossAccount,
			identity: []string{identityAllow}, resource: []string{grant(`{"AWS":"` + otherAccount + `"}`)},
			want: allowedByBoth(m("id0", 0, "IdAllow"), m("res0", 0, "Grant"))},
		{name: "cross account: resource names the caller's root", req: crossAccount,
			identity: []string{identityAllow}, resource: []string{grant(`{"AWS":"arn:aws:iam::210987654321:root"}`)},
			want: allowedByBoth(m("id0", 0, "IdAllow"), m("res0", 0, "Grant"))},
		{name: "cross account: resource names the owner's account", req: crossAccount,
			identity: []string{identityAllow}, resource: []string{grant(`{"AWS":"` + account + `"}`)}, want: noResourceAllow},
		{name: "cross account: no resource policy", req: crossAccount,
			identity: []string{identityAllow}, want: noResourceAllow},

		{name: "service principal allowed by Service", req: Request{PrincipalService: "events.amazonaws.com", Action: "sns:Publish", Resource: topicARN, ResourceAccount: account},
			resource: []string{grant(`{"Service":"events.amazonaws.com"}`)}, want: allowedBy(m("res0", 0, "Grant"), ResourceBased)},
		{name: "service principal allowed by star", req: Request{PrincipalService: "events.amazonaws.com", Action: "sns:Publish", Resource: topicARN, ResourceAccount: account},
			resource: []string{grant(`"*"`)}, want: allowedBy(m("res0", 0, "Grant"), ResourceBased)},
		{name: "other service principal", req: Request{PrincipalService: "sqs.amazonaws.com", Action: "sns:Publish", Resource: topicARN, ResourceAccount: account},
			resource: []string{grant(`{"Service":["events.amazonaws.com","cloudwatch.amazonaws.com"]}`)}, want: noResourceAllow},
		{name: "service principal is not an account", req: Request{PrincipalService: "events.amazonaws.com", Action: "sns:Publish", Resource: topicARN, ResourceAccount: account},
			resource: []string{grant(`{"AWS":"` + account + `"}`)}, want: noResourceAllow},
		{name: "service principal without resource policy", req: Request{PrincipalService: "events.amazonaws.com", Action: "sns:Publish", Resource: topicARN},
			want: noResourceAllow},
		{name: "service principal with source ARN condition", req: Request{PrincipalService: "events.amazonaws.com", Action: "sns:Publish", Resource: topicARN,
			Keys: map[string][]string{"aws:SourceArn": {"arn:aws:events:us-east-1:123456789012:rule/other"}}},
			resource: []string{stmts(`{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:123456789012:rule/root-volume-*"}}}`)},
			want:     noResourceAllow},
		{name: "role principal does not match a service", req: sameAccount,
			resource: []string{grant(`{"Service":"events.amazonaws.com"}`)}, want: publishDenied},
		{name: "federated principal never matches", req: sameAccount,
			resource: []string{grant(`{"Federated":"cognito-identity.amazonaws.com"}`)}, want: publishDenied},

		{name: "trust policy without Resource", req: Request{PrincipalService: "ec2.amazonaws.com", Action: "sts:AssumeRole", Resource: roleARN},
			resource: []string{stmts(`{"Sid":"Trust","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}`)},
			want:     allowedBy(m("res0", 0, "Trust"), ResourceBased)},

		{name: "NotPrincipal deny spares the listed role and account", req: sameAccount,
			identity: []string{identityAllow},
			resource: []string{stmts(`{"Effect":"Deny","NotPrincipal":{"AWS":["` + roleARN + `","arn:aws:iam::123456789012:root"]},"Action":"sns:*","Resource":"*"}`)},
			want:     allowedBy(m("id0", 0, "IdAllow"), IdentityBased)},
		{name: "NotPrincipal deny spares a session of the listed role", req: with(sameAccount, func(r *Request) { r.PrincipalARN = sessionARN }),
			identity: []string{identityAllow},
			resource: []string{stmts(`{"Effect":"Deny","NotPrincipal":{"AWS":["` + roleARN + `","` + account + `"]},"Action":"sns:*","Resource":"*"}`)},
			want:     allowedBy(m("id0", 0, "IdAllow"), IdentityBased)},
		{name: "NotPrincipal deny without the account still denies", req: sameAccount,
			identity: []string{identityAllow},
			resource: []string{stmts(`{"Sid":"OnlyRole","Effect":"Deny","NotPrincipal":{"AWS":"` + roleARN + `"},"Action":"sns:*","Resource":"*"}`)},
			want:     deniedBy(m("res0", 0, "OnlyRole"), ResourceBased)},
		{name: "NotPrincipal deny denies others", req: with(sameAccount, func(r *Request) { r.PrincipalARN = "arn:aws:iam::123456789012:role/Other" }),
			identity: []string{identityAllow},
			resource: []string{stmts(`{"Sid":"OnlyRole","Effect":"Deny","NotPrincipal":{"AWS":["` + roleARN + `","` + account + `"]},"Action":"sns:*","Resource":"*"}`)},
			want:     deniedBy(m("res0", 0, "OnlyRole"), ResourceBased)},
		{name: "NotPrincipal deny spares the listed service", req: Request{PrincipalService: "events.amazonaws.com", Action: "sns:Publish", Resource: topicARN},
			resource: []string{grant(`"*"`), stmts(`{"Effect":"Deny","NotPrincipal":{"Service":"events.amazonaws.com"},"Action":"sns:*","Resource":"*"}`)},
			want:     allowedBy(m("res0", 0, "Grant"), ResourceBased)},
	})
}

func TestEvaluateKeyPolicy(t *testing.T) {
	mac := func(r *Request) { r.Action = "kms:GenerateMac"; r.Resource = keyARN }
	sameAccount := with(roleReq(), mac)
	crossAccount := with(roleReq(), func(r *Request) { mac(r); r.PrincipalARN = otherRoleARN })
	identityAllow := stmts(`{"Sid":"IdAllow","Effect":"Allow","Action":"kms:GenerateMac","Resource":"*"}`)
	keyPolicy := func(principal string) string {
		return stmts(`{"Sid":"Key","Effect":"Allow","Principal":` + principal + `,"Action":"kms:*","Resource":"*"}`)
	}
	rootDelegation := keyPolicy(`{"AWS":"arn:aws:iam::123456789012:root"}`)
	tests := []evalCase{
		{name: "no key-policy allow: deny even with identity allow", req: sameAccount,
			identity: []string{identityAllow}, resource: []string{keyPolicy(`{"AWS":"arn:aws:iam::123456789012:role/KeyAdmin"}`)},
			want: implicit(ResourceBased, "kms:GenerateMac")},
		{name: "no key policy at all", req: sameAccount,
			identity: []string{identityAllow}, want: implicit(ResourceBased, "kms:GenerateMac")},
		{name: "root delegation needs identity allow", req: sameAccount,
			resource: []string{rootDelegation}, want: implicit(IdentityBased, "kms:GenerateMac")},
		{name: "root delegation with identity allow", req: sameAccount,
			identity: []string{identityAllow}, resource: []string{rootDelegation},
			want: allowedByBoth(m("id0", 0, "IdAllow"), m("res0", 0, "Key"))},
		{name: "account ID delegation with identity allow", req: sameAccount,
			identity: []string{identityAllow}, resource: []string{keyPolicy(`{"AWS":"` + account + `"}`)},
			want: allowedByBoth(m("id0", 0, "IdAllow"), m("res0", 0, "Key"))},
		{name: "direct principal allows alone", req: sameAccount,
			resource: []string{keyPolicy(`{"AWS":"` + roleARN + `"}`)}, want: allowedBy(m("res0", 0, "Key"), ResourceBased)},
		{name: "star principal allows alone", req: sameAccount,
			resource: []string{keyPolicy(`"*"`)}, want: allowedBy(m("res0", 0, "Key"), ResourceBased)},
		{name: "key policy deny", req: sameAccount,
			identity: []string{identityAllow},
			resource: []string{stmts(`{"Effect":"Allow","Principal":{"AWS":"`+account+`"},"Action":"kms:*","Resource":"*"}`, `{"Sid":"NoMac","Effect":"Deny","Principal":"*","Action":"kms:GenerateMac","Resource":"*"}`)},
			want:     deniedBy(m("res0", 1, "NoMac"), ResourceBased)},
		{name: "identity deny with root delegation", req: sameAccount,
			identity: []string{identityAllow, stmts(`{"Sid":"NoKMS","Effect":"Deny","Action":"kms:*","Resource":"*"}`)}, resource: []string{rootDelegation},
			want: deniedBy(m("id1", 0, "NoKMS"), IdentityBased)},
		{name: "cross account: key policy names the caller, identity does not allow", req: crossAccount,
			resource: []string{keyPolicy(`{"AWS":"` + otherRoleARN + `"}`)}, kind: KeyPolicy, want: implicit(IdentityBased, "kms:GenerateMac")},
		{name: "cross account: key policy names the caller's account, identity allows", req: crossAccount,
			identity: []string{identityAllow}, resource: []string{keyPolicy(`{"AWS":"` + otherAccount + `"}`)},
			want: allowedByBoth(m("id0", 0, "IdAllow"), m("res0", 0, "Key"))},
		{name: "cross account: key policy names only the owner", req: crossAccount,
			identity: []string{identityAllow}, resource: []string{rootDelegation}, want: implicit(ResourceBased, "kms:GenerateMac")},
	}
	for i := range tests {
		tests[i].kind = KeyPolicy
	}
	runEval(t, tests)
}

func TestEvaluateErrors(t *testing.T) {
	allowAll := stmts(`{"Effect":"Allow","Action":"*","Resource":"*"}`)
	tests := []struct {
		name     string
		req      Request
		identity []Source
		resource []Source
		kind     ResourcePolicyKind
		wantErr  error
		wantText string
	}{
		{name: "no principal", req: Request{Action: "ec2:DeleteVolume", Resource: volumeARN},
			wantErr: ErrInvalidRequest, wantText: "no principal"},
		{name: "both principals", req: with(roleReq(), func(r *Request) { r.PrincipalService = "ec2.amazonaws.com" }),
			wantErr: ErrInvalidRequest, wantText: "both PrincipalARN and PrincipalService"},
		{name: "principal not an ARN", req: with(roleReq(), func(r *Request) { r.PrincipalARN = "SnapshotRole" }),
			wantErr: ErrInvalidRequest, wantText: `PrincipalARN "SnapshotRole"`},
		{name: "account differs from ARN", req: with(roleReq(), func(r *Request) { r.PrincipalAccount = otherAccount }),
			wantErr: ErrInvalidRequest, wantText: "differs"},
		{name: "wildcard action in request", req: with(roleReq(), func(r *Request) { r.Action = "ec2:*" }),
			wantErr: ErrInvalidRequest, wantText: `action "ec2:*"`},
		{name: "no resource", req: with(roleReq(), func(r *Request) { r.Resource = "" }),
			wantErr: ErrInvalidRequest, wantText: "no resource"},
		{name: "key given twice", req: with(roleReq(), func(r *Request) {
			r.Keys = map[string][]string{"aws:TagKeys": {"a"}, "AWS:TagKeys": {"b"}}
		}), wantErr: ErrInvalidRequest, wantText: "given twice"},
		{name: "unknown kind", req: roleReq(), kind: ResourcePolicyKind(7), wantErr: ErrInvalidRequest, wantText: "kind 7"},
		{name: "service principal with identity policies", req: Request{PrincipalService: "events.amazonaws.com", Action: "sns:Publish", Resource: topicARN},
			identity: sources(t, "id", []string{allowAll}), wantErr: ErrInvalidRequest, wantText: "no identity-based policies"},
		{name: "identity policy with Principal", req: roleReq(),
			identity: sources(t, "id", []string{stmts(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`)}),
			wantErr:  ErrInvalidPolicy, wantText: "id0 statement 0: invalid policy: identity-based policy statement with Principal"},
		{name: "resource policy without Principal", req: roleReq(),
			resource: sources(t, "res", []string{allowAll}), wantErr: ErrInvalidPolicy, wantText: "res0 statement 0: invalid policy: resource-based policy statement without Principal"},
		{name: "document built by hand with both Action and NotAction", req: roleReq(),
			identity: []Source{{Name: "hand", Doc: Document{Statement: []Statement{{Effect: "Allow", Action: []string{"*"}, NotAction: []string{"s3:*"}, Resource: []string{"*"}}}}}},
			wantErr:  ErrInvalidPolicy, wantText: "hand: statement 0: invalid policy: both Action and NotAction"},
		{name: "document built by hand with a policy variable", req: roleReq(),
			identity: []Source{{Name: "hand", Doc: Document{Statement: []Statement{{Effect: "Allow", Action: []string{"*"}, Resource: []string{"*"},
				Condition: map[string]map[string][]string{"StringEquals": {"aws:username": {"${aws:username}"}}}}}}}},
			wantErr: ErrUnsupported, wantText: `policy variable in value "${aws:username}"`},
		{name: "document built by hand with an unknown operator", req: roleReq(),
			identity: []Source{{Name: "hand", Doc: Document{Statement: []Statement{{Sid: "X", Effect: "Allow", Action: []string{"*"}, Resource: []string{"*"},
				Condition: map[string]map[string][]string{"DateGreaterThan": {"aws:CurrentTime": {"2020-01-01T00:00:00Z"}}}}}}}},
			wantErr: ErrUnsupported, wantText: `hand: statement 0 (X): unsupported policy feature: unknown condition operator "DateGreaterThan"`},
		{name: "empty document", req: roleReq(), identity: []Source{{Name: "empty"}}, wantErr: ErrInvalidPolicy, wantText: "empty: invalid policy: no statements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Evaluate(tt.req, tt.identity, tt.resource, tt.kind)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.wantText) {
				t.Fatalf("Evaluate(%+v) error = %v, want %v containing %q", tt.req, err, tt.wantErr, tt.wantText)
			}
			if got.Allowed || got.Decision != ImplicitDeny {
				t.Errorf("Evaluate(%+v) = %+v with an error, want an ImplicitDeny", tt.req, got)
			}
		})
	}
}

func TestWithGlobalKeys(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want map[string][]string
	}{
		{name: "role", req: roleReq(), want: map[string][]string{
			"aws:PrincipalArn": {roleARN}, "aws:PrincipalAccount": {account}, "aws:ResourceAccount": {account}}},
		{name: "keeps what is set, case-insensitively", req: with(roleReq(), func(r *Request) {
			r.ResourceAccount = ""
			r.Keys = map[string][]string{"AWS:PRINCIPALARN": {"x"}}
		}), want: map[string][]string{"AWS:PRINCIPALARN": {"x"}, "aws:PrincipalAccount": {account}}},
		{name: "service", req: Request{PrincipalService: "events.amazonaws.com", Action: "sns:Publish", Resource: topicARN},
			want: map[string][]string{"aws:PrincipalServiceName": {"events.amazonaws.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.req.WithGlobalKeys().Keys
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("WithGlobalKeys().Keys = %v, want %v; diff (-want +got):\n%s", got, tt.want, diff)
			}
		})
	}
	// The original request is not changed.
	r := with(roleReq(), func(r *Request) { r.Keys = map[string][]string{"a:b": {"c"}} })
	_ = r.WithGlobalKeys()
	if len(r.Keys) != 1 {
		t.Errorf("WithGlobalKeys changed its receiver's Keys: %v", r.Keys)
	}
}
