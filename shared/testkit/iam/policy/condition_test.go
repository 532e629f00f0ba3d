package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// condDoc is one Allow statement for ec2:DeleteTags on any resource with the
// given Condition element.
func condDoc(cond string) string {
	return stmts(`{"Sid":"C","Effect":"Allow","Action":"ec2:DeleteTags","Resource":"*","Condition":` + cond + `}`)
}

func condReq(keys map[string][]string) Request {
	return Request{PrincipalARN: roleARN, Action: "ec2:DeleteTags", Resource: volumeARN, Keys: keys}
}

// keys builds a request context: "k=v1,v2" pairs; "k=" is a key with no values.
func keys(pairs ...string) map[string][]string {
	out := map[string][]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		out[k] = []string{}
		if v != "" {
			out[k] = strings.Split(v, ",")
		}
	}
	return out
}

func TestConditions(t *testing.T) {
	const (
		arnA = "arn:aws:sns:us-east-1:123456789012:topic-a"
	)
	tests := []struct {
		name string
		cond string
		keys map[string][]string
		want bool
	}{
		// StringEquals and its negation.
		{"StringEquals match", `{"StringEquals":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner=suite"), true},
		{"StringEquals mismatch", `{"StringEquals":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner=other"), false},
		{"StringEquals is case-sensitive", `{"StringEquals":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner=Suite"), false},
		{"StringEquals key absent", `{"StringEquals":{"aws:ResourceTag/Owner":"suite"}}`, nil, false},
		{"StringEquals key name is case-insensitive", `{"StringEquals":{"aws:resourcetag/owner":"suite"}}`, keys("AWS:ResourceTag/OWNER=suite"), true},
		{"StringEquals listed values are OR-ed", `{"StringEquals":{"aws:ResourceTag/Owner":["ops","suite"]}}`, keys("aws:ResourceTag/Owner=suite"), true},
		{"StringEquals takes no wildcards", `{"StringEquals":{"aws:ResourceTag/Owner":"sui*"}}`, keys("aws:ResourceTag/Owner=suite"), false},
		{"StringEquals number value", `{"StringEquals":{"ec2:VolumeSize":8}}`, keys("ec2:VolumeSize=8"), true},
		{"StringEquals several request values act as ForAnyValue", `{"StringEquals":{"aws:TagKeys":"a"}}`, keys("aws:TagKeys=b,a"), true},
		{"StringEqualsIfExists absent", `{"StringEqualsIfExists":{"aws:ResourceTag/Owner":"suite"}}`, nil, true},
		{"StringEqualsIfExists empty counts as absent", `{"StringEqualsIfExists":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner="), true},
		{"StringEqualsIfExists present mismatch", `{"StringEqualsIfExists":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner=other"), false},
		{"StringEqualsIfExists present match", `{"StringEqualsIfExists":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner=suite"), true},
		// An empty ARN value (an optional principal parameter left at its
		// default) names nobody: ArnNotLike of it holds for everyone.
		{"ArnNotLike an empty value", `{"ArnNotLike":{"aws:PrincipalArn":""}}`, keys("aws:PrincipalArn=arn:aws:iam::123456789012:role/r"), true},
		{"ArnLike an empty value", `{"ArnLike":{"aws:PrincipalArn":""}}`, keys("aws:PrincipalArn=arn:aws:iam::123456789012:role/r"), false},
		{"StringNotEquals differs", `{"StringNotEquals":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner=other"), true},
		{"StringNotEquals equal", `{"StringNotEquals":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner=suite"), false},
		{"StringNotEquals key absent", `{"StringNotEquals":{"aws:ResourceTag/Owner":"suite"}}`, nil, true},
		{"StringNotEquals listed values are AND-ed: one equal", `{"StringNotEquals":{"aws:ResourceTag/Owner":["ops","suite"]}}`, keys("aws:ResourceTag/Owner=ops"), false},
		{"StringNotEquals listed values are AND-ed: none equal", `{"StringNotEquals":{"aws:ResourceTag/Owner":["ops","suite"]}}`, keys("aws:ResourceTag/Owner=dev"), true},
		{"StringNotEquals several request values: one equal", `{"StringNotEquals":{"aws:TagKeys":"a"}}`, keys("aws:TagKeys=b,a"), false},
		{"StringNotEquals several request values: none equal", `{"StringNotEquals":{"aws:TagKeys":"a"}}`, keys("aws:TagKeys=b,c"), true},
		{"StringNotEqualsIfExists absent", `{"StringNotEqualsIfExists":{"aws:ResourceTag/Owner":"suite"}}`, nil, true},
		{"StringNotEqualsIfExists present equal", `{"StringNotEqualsIfExists":{"aws:ResourceTag/Owner":"suite"}}`, keys("aws:ResourceTag/Owner=suite"), false},

		// IgnoreCase.
		{"StringEqualsIgnoreCase match", `{"StringEqualsIgnoreCase":{"aws:ResourceTag/Owner":"SUITE"}}`, keys("aws:ResourceTag/Owner=suite"), true},
		{"StringEqualsIgnoreCase mismatch", `{"StringEqualsIgnoreCase":{"aws:ResourceTag/Owner":"SUITE"}}`, keys("aws:ResourceTag/Owner=suites"), false},
		{"StringEqualsIgnoreCase absent", `{"StringEqualsIgnoreCase":{"aws:ResourceTag/Owner":"SUITE"}}`, nil, false},
		{"StringNotEqualsIgnoreCase equal but for case", `{"StringNotEqualsIgnoreCase":{"aws:ResourceTag/Owner":"SUITE"}}`, keys("aws:ResourceTag/Owner=suite"), false},
		{"StringNotEqualsIgnoreCase differs", `{"StringNotEqualsIgnoreCase":{"aws:ResourceTag/Owner":"SUITE"}}`, keys("aws:ResourceTag/Owner=ops"), true},
		{"StringNotEqualsIgnoreCase absent", `{"StringNotEqualsIgnoreCase":{"aws:ResourceTag/Owner":"SUITE"}}`, nil, true},

		// Like.
		{"StringLike *", `{"StringLike":{"aws:ResourceTag/Name":"snap-*"}}`, keys("aws:ResourceTag/Name=snap-1"), true},
		{"StringLike ? is one character", `{"StringLike":{"aws:ResourceTag/Name":"snap-?"}}`, keys("aws:ResourceTag/Name=snap-12"), false},
		{"StringLike is case-sensitive", `{"StringLike":{"aws:ResourceTag/Name":"Snap-*"}}`, keys("aws:ResourceTag/Name=snap-1"), false},
		{"StringLike absent", `{"StringLike":{"aws:ResourceTag/Name":"*"}}`, nil, false},
		{"StringLikeIfExists absent", `{"StringLikeIfExists":{"aws:ResourceTag/Name":"snap-*"}}`, nil, true},
		{"StringNotLike no match", `{"StringNotLike":{"aws:ResourceTag/Name":"snap-*"}}`, keys("aws:ResourceTag/Name=vol-1"), true},
		{"StringNotLike match", `{"StringNotLike":{"aws:ResourceTag/Name":"snap-*"}}`, keys("aws:ResourceTag/Name=snap-1"), false},
		{"StringNotLike absent", `{"StringNotLike":{"aws:ResourceTag/Name":"snap-*"}}`, nil, true},
		{"StringNotLikeIfExists present match", `{"StringNotLikeIfExists":{"aws:ResourceTag/Name":"snap-*"}}`, keys("aws:ResourceTag/Name=snap-1"), false},

		// Arn.
		{"ArnLike wildcards per part", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:topic-*"}}`, keys("aws:SourceArn=" + arnA), true},
		{"ArnLike wildcard does not cross parts", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:t"}}`, keys("aws:SourceArn=arn:aws:sns:us-east-1:extra:123456789012:t"), false},
		{"StringLike on the same value crosses parts", `{"StringLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:t"}}`, keys("aws:SourceArn=arn:aws:sns:us-east-1:extra:123456789012:t"), true},
		{"ArnLike resource part holds colons", `{"ArnLike":{"aws:SourceArn":"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/*"}}`, keys("aws:SourceArn=arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*"), true},
		{"ArnLike is case-sensitive", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:Topic-a"}}`, keys("aws:SourceArn=" + arnA), false},
		{"ArnLike value not an ARN", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, keys("aws:SourceArn=topic-a"), false},
		{"ArnLike absent", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, nil, false},
		{"ArnLikeIfExists absent", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, nil, true},
		{"ArnEquals exact", `{"ArnEquals":{"aws:SourceArn":"` + arnA + `"}}`, keys("aws:SourceArn=" + arnA), true},
		{"ArnEquals also takes wildcards", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:*"}}`, keys("aws:SourceArn=" + arnA), true},
		{"ArnEquals mismatch", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:topic-b"}}`, keys("aws:SourceArn=" + arnA), false},
		{"ArnNotEquals match", `{"ArnNotEquals":{"aws:SourceArn":"` + arnA + `"}}`, keys("aws:SourceArn=" + arnA), false},
		{"ArnNotEquals mismatch", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:topic-b"}}`, keys("aws:SourceArn=" + arnA), true},
		{"ArnNotLike absent", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, nil, true},
		{"ArnNotLike value not an ARN", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, keys("aws:SourceArn=topic-a"), true},
		{"ArnNotLike match", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, keys("aws:SourceArn=" + arnA), false},

		// Bool.
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, keys("aws:SecureTransport=true"), true},
		{"Bool JSON true", `{"Bool":{"aws:SecureTransport":true}}`, keys("aws:SecureTransport=true"), true},
		{"Bool mismatch", `{"Bool":{"aws:SecureTransport":"false"}}`, keys("aws:SecureTransport=true"), false},
		{"Bool absent", `{"Bool":{"aws:SecureTransport":"true"}}`, nil, false},
		{"BoolIfExists absent", `{"BoolIfExists":{"aws:ViaAWSService":"false"}}`, nil, true},
		{"BoolIfExists present mismatch", `{"BoolIfExists":{"aws:ViaAWSService":"false"}}`, keys("aws:ViaAWSService=true"), false},

		// Null.
		{"Null true, absent", `{"Null":{"aws:ResourceTag/Owner":"true"}}`, nil, true},
		{"Null true, present", `{"Null":{"aws:ResourceTag/Owner":"true"}}`, keys("aws:ResourceTag/Owner=suite"), false},
		{"Null false, present", `{"Null":{"aws:ResourceTag/Owner":"false"}}`, keys("aws:ResourceTag/Owner=suite"), true},
		{"Null false, absent", `{"Null":{"aws:ResourceTag/Owner":"false"}}`, nil, false},
		{"Null false, no values", `{"Null":{"aws:TagKeys":"false"}}`, keys("aws:TagKeys="), false},
		{"Null JSON bool", `{"Null":{"aws:TagKeys":false}}`, keys("aws:TagKeys=a"), true},

		// Numeric.
		{"NumericLessThan below", `{"NumericLessThan":{"ec2:VolumeSize":100}}`, keys("ec2:VolumeSize=50"), true},
		{"NumericLessThan equal", `{"NumericLessThan":{"ec2:VolumeSize":100}}`, keys("ec2:VolumeSize=100"), false},
		{"NumericLessThan absent", `{"NumericLessThan":{"ec2:VolumeSize":100}}`, nil, false},
		{"NumericLessThanEquals equal", `{"NumericLessThanEquals":{"ec2:VolumeSize":"100"}}`, keys("ec2:VolumeSize=100"), true},
		{"NumericGreaterThan above", `{"NumericGreaterThan":{"ec2:VolumeSize":100}}`, keys("ec2:VolumeSize=101"), true},
		{"NumericGreaterThan equal", `{"NumericGreaterThan":{"ec2:VolumeSize":100}}`, keys("ec2:VolumeSize=100"), false},
		{"NumericGreaterThanEquals equal", `{"NumericGreaterThanEquals":{"ec2:VolumeSize":100}}`, keys("ec2:VolumeSize=100"), true},
		{"NumericEquals compares numbers", `{"NumericEquals":{"ec2:VolumeSize":8}}`, keys("ec2:VolumeSize=8.0"), true},
		{"NumericEqualsIfExists absent", `{"NumericEqualsIfExists":{"ec2:VolumeSize":8}}`, nil, true},
		{"NumericNotEquals listed values are AND-ed", `{"NumericNotEquals":{"ec2:VolumeSize":[8,16]}}`, keys("ec2:VolumeSize=16"), false},
		{"NumericNotEquals none equal", `{"NumericNotEquals":{"ec2:VolumeSize":[8,16]}}`, keys("ec2:VolumeSize=32"), true},
		{"NumericNotEquals absent", `{"NumericNotEquals":{"ec2:VolumeSize":8}}`, nil, true},

		// ForAllValues.
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, keys("aws:TagKeys=a"), true},
		{"ForAllValues every value", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, keys("aws:TagKeys=b,a"), true},
		{"ForAllValues one value outside", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, keys("aws:TagKeys=a,c"), false},
		{"ForAllValues absent is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, nil, true},
		{"ForAllValues empty is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, keys("aws:TagKeys="), true},
		{"ForAllValues:StringLike", `{"ForAllValues:StringLike":{"aws:TagKeys":"Owner*"}}`, keys("aws:TagKeys=Owner,OwnerTeam"), true},
		{"ForAllValues:StringEqualsIgnoreCase", `{"ForAllValues:StringEqualsIgnoreCase":{"aws:TagKeys":"owner"}}`, keys("aws:TagKeys=Owner,OWNER"), true},
		{"ForAllValues:StringNotEquals all differ", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, keys("aws:TagKeys=c,d"), true},
		{"ForAllValues:StringNotEquals one equal", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, keys("aws:TagKeys=c,b"), false},
		{"ForAllValues:StringNotEquals absent", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a"]}}`, nil, true},
		{"ForAllValues:StringNotLike", `{"ForAllValues:StringNotLike":{"aws:TagKeys":["Owner:*","State:??"]}}`, keys("aws:TagKeys=owner:Legal,State:NewYork"), true},
		{"ForAllValues:StringNotLike one matches", `{"ForAllValues:StringNotLike":{"aws:TagKeys":["Owner:*","State:??"]}}`, keys("aws:TagKeys=owner:Legal,State:NY"), false},
		{"ForAllValues:ArnLike", `{"ForAllValues:ArnLike":{"aws:CalledVia":"arn:aws:sns:*:123456789012:*"}}`, keys("aws:CalledVia=" + arnA), true},
		{"ForAllValues:StringEqualsIfExists absent", `{"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":"a"}}`, nil, true},

		// ForAnyValue.
		{"ForAnyValue one matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, keys("aws:TagKeys=b,a"), true},
		{"ForAnyValue none matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, keys("aws:TagKeys=b,c"), false},
		{"ForAnyValue absent is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, nil, false},
		{"ForAnyValue empty is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, keys("aws:TagKeys="), false},
		{"ForAnyValue:StringLike", `{"ForAnyValue:StringLike":{"aws:TagKeys":"delete-*"}}`, keys("aws:TagKeys=Name,delete-volume"), true},
		{"ForAnyValue:StringNotEquals one differs", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}`, keys("aws:TagKeys=a,b"), true},
		{"ForAnyValue:StringNotEquals all equal", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}`, keys("aws:TagKeys=a"), false},
		{"ForAnyValue:StringNotEquals absent is false", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}}`, nil, false},
		{"ForAnyValue:ArnNotLike", `{"ForAnyValue:ArnNotLike":{"aws:CalledVia":"arn:aws:sns:*:*:*"}}`, keys("aws:CalledVia=" + arnA + ",arn:aws:sqs:us-east-1:123456789012:q"), true},
		{"ForAnyValue:StringEqualsIfExists absent", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}`, nil, true},

		// Combination: operators AND-ed, keys AND-ed.
		{"two operators both hold", `{"StringEquals":{"aws:ResourceTag/Owner":"suite"},"Bool":{"aws:SecureTransport":"true"}}`, keys("aws:ResourceTag/Owner=suite", "aws:SecureTransport=true"), true},
		{"two operators, one fails", `{"StringEquals":{"aws:ResourceTag/Owner":"suite"},"Bool":{"aws:SecureTransport":"true"}}`, keys("aws:ResourceTag/Owner=suite", "aws:SecureTransport=false"), false},
		{"two keys both hold", `{"StringEquals":{"aws:ResourceTag/Owner":"suite","aws:ResourceTag/Env":"test"}}`, keys("aws:ResourceTag/Owner=suite", "aws:ResourceTag/Env=test"), true},
		{"two keys, one absent", `{"StringEquals":{"aws:ResourceTag/Owner":"suite","aws:ResourceTag/Env":"test"}}`, keys("aws:ResourceTag/Owner=suite"), false},
		{"empty Condition", `{}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := condReq(tt.keys)
			got, err := Evaluate(req, sources(t, "id", []string{condDoc(tt.cond)}), nil, OrdinaryResourcePolicy)
			if err != nil {
				t.Fatalf("Evaluate(%s, keys %v) error: %v", tt.cond, tt.keys, err)
			}
			if got.Allowed != tt.want {
				t.Errorf("Evaluate(%s, keys %v).Allowed = %v, want %v (%+v)", tt.cond, tt.keys, got.Allowed, tt.want, got)
			}
		})
	}
}

// TestDeleteTagsPolicy is the suite's own pattern: a role may remove only
// the delete-volume tag, and must name it.
func TestDeleteTagsPolicy(t *testing.T) {
	policy := parsed(t, `{"Version":"2012-10-17","Statement":{"Sid":"RemoveMarker","Effect":"Allow","Action":"ec2:DeleteTags",
		"Resource":"arn:aws:ec2:us-east-1:123456789012:volume/*",
		"Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["delete-volume"]},"Null":{"aws:TagKeys":"false"}}}}`)
	known := []string{"aws:TagKeys", "aws:RequestTag/${TagKey}", "ec2:ResourceTag/${TagKey}"}
	tests := []struct {
		name     string
		resource string
		tagKeys  []string // nil: key absent
		want     Decision
	}{
		{"only the marker", volumeARN, []string{"delete-volume"}, Allow},
		{"the marker and another tag", volumeARN, []string{"delete-volume", "Name"}, ImplicitDeny},
		{"another tag", volumeARN, []string{"Name"}, ImplicitDeny},
		{"no tag keys named (would delete every tag)", volumeARN, nil, ImplicitDeny},
		{"empty tag key list", volumeARN, []string{}, ImplicitDeny},
		{"marker case differs", volumeARN, []string{"Delete-Volume"}, ImplicitDeny},
		{"a snapshot", "arn:aws:ec2:us-east-1:123456789012:snapshot/snap-1", []string{"delete-volume"}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{PrincipalARN: sessionARN, Action: "ec2:DeleteTags", Resource: tt.resource, ResourceAccount: account, KnownKeys: known}
			if tt.tagKeys != nil {
				req.Keys = map[string][]string{"aws:TagKeys": tt.tagKeys}
			}
			got, err := Evaluate(req, []Source{{Name: "SnapshotRole/ec2", Doc: policy}}, nil, OrdinaryResourcePolicy)
			if err != nil {
				t.Fatalf("Evaluate(%v) error: %v", tt.tagKeys, err)
			}
			if got.Decision != tt.want {
				t.Errorf("Evaluate(%v) = %s (%s), want %s", tt.tagKeys, got.Decision, got.Reason, tt.want)
			}
		})
	}
}

func TestConditionErrors(t *testing.T) {
	tests := []struct {
		name      string
		cond      string
		keys      map[string][]string
		knownKeys []string
		wantErr   error
		wantText  string
	}{
		{name: "unknown operator", cond: `{"StringEqualz":{"aws:TagKeys":"a"}}`, wantErr: ErrUnsupported, wantText: `unknown condition operator "StringEqualz"`},
		{name: "Date operator", cond: `{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, wantErr: ErrUnsupported, wantText: `"DateLessThan"`},
		{name: "IpAddress operator", cond: `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, wantErr: ErrUnsupported, wantText: `"IpAddress"`},
		{name: "operator name is case-sensitive", cond: `{"stringequals":{"aws:TagKeys":"a"}}`, wantErr: ErrUnsupported, wantText: `"stringequals"`},
		{name: "unknown set prefix", cond: `{"ForEachValue:StringEquals":{"aws:TagKeys":"a"}}`, wantErr: ErrUnsupported, wantText: `"ForEachValue:StringEquals"`},
		{name: "set prefix on Bool", cond: `{"ForAllValues:Bool":{"aws:SecureTransport":"true"}}`, wantErr: ErrUnsupported, wantText: `"ForAllValues:Bool"`},
		{name: "set prefix on Numeric", cond: `{"ForAnyValue:NumericEquals":{"ec2:VolumeSize":1}}`, wantErr: ErrUnsupported, wantText: `"ForAnyValue:NumericEquals"`},
		{name: "NullIfExists", cond: `{"NullIfExists":{"aws:TagKeys":"true"}}`, wantErr: ErrInvalidPolicy, wantText: `"NullIfExists"`},
		{name: "policy variable", cond: `{"StringEquals":{"aws:PrincipalTag/team":"${aws:username}"}}`, wantErr: ErrUnsupported, wantText: `policy variable in value "${aws:username}"`},
		{name: "policy variable in a list", cond: `{"StringLike":{"aws:SourceArn":["arn:aws:sns:*:*:a","arn:aws:sns:*:${aws:PrincipalAccount}:*"]}}`, wantErr: ErrUnsupported, wantText: "policy variable"},
		{name: "bad Bool value", cond: `{"Bool":{"aws:SecureTransport":"yes"}}`, wantErr: ErrInvalidPolicy, wantText: `Bool value "yes" (want true or false)`},
		{name: "Bool value not lower case", cond: `{"Bool":{"aws:SecureTransport":"True"}}`, wantErr: ErrInvalidPolicy, wantText: `"True"`},
		{name: "bad Null value", cond: `{"Null":{"aws:TagKeys":"absent"}}`, wantErr: ErrInvalidPolicy, wantText: `Null value "absent"`},
		{name: "bad number", cond: `{"NumericLessThan":{"ec2:VolumeSize":"big"}}`, wantErr: ErrInvalidPolicy, wantText: `NumericLessThan value "big" is not a number`},
		{name: "Arn value not an ARN", cond: `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*"}}`, wantErr: ErrInvalidPolicy, wantText: `ArnLike value "arn:aws:sns:*" is not an ARN`},
		{name: "key without a prefix", cond: `{"StringEquals":{"TagKeys":"a"}}`, wantErr: ErrInvalidPolicy, wantText: `malformed condition key "TagKeys"`},
		{name: "no keys", cond: `{"StringEquals":{}}`, wantErr: ErrInvalidPolicy, wantText: "StringEquals has no keys"},
		{name: "no values", cond: `{"StringEquals":{"aws:TagKeys":[]}}`, wantErr: ErrInvalidPolicy, wantText: "no values"},
		{name: "request Bool value not a boolean", cond: `{"Bool":{"aws:SecureTransport":"false"}}`, keys: keys("aws:SecureTransport=1"),
			wantErr: ErrInvalidRequest, wantText: `aws:SecureTransport value "1" is not true or false`},
		{name: "request number not a number", cond: `{"NumericLessThan":{"ec2:VolumeSize":100}}`, keys: keys("ec2:VolumeSize=big"),
			wantErr: ErrInvalidRequest, wantText: `ec2:VolumeSize value "big" is not a number`},
		{name: "request value error after a false condition", cond: `{"StringEquals":{"aws:ResourceTag/Owner":"x"},"Bool":{"aws:SecureTransport":"true"}}`,
			keys: keys("aws:SecureTransport=maybe"), wantErr: ErrInvalidRequest, wantText: `"maybe"`},
		{name: "unknown key with KnownKeys set", cond: `{"StringEquals":{"ec2:ResourceTagg/Owner":"suite"}}`, knownKeys: []string{"ec2:ResourceTag/${TagKey}"},
			wantErr: ErrUnknownKey, wantText: "unknown condition key ec2:ResourceTagg/Owner for action ec2:DeleteTags"},
		{name: "service key not listed", cond: `{"StringEquals":{"ec2:Region":"us-east-1"}}`, knownKeys: []string{},
			wantErr: ErrUnknownKey, wantText: "ec2:Region"},
		{name: "unknown key in an IfExists operator", cond: `{"StringEqualsIfExists":{"ec2:Regoin":"us-east-1"}}`, knownKeys: []string{"ec2:Region"},
			wantErr: ErrUnknownKey, wantText: "ec2:Regoin"},
		{name: "unknown key checked even when another condition fails", cond: `{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"ec2:Nope":"x"}}`,
			knownKeys: []string{}, wantErr: ErrUnknownKey, wantText: "ec2:Nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := condReq(tt.keys)
			req.KnownKeys = tt.knownKeys
			// Parse rejects a malformed policy; Evaluate what depends on
			// the request.
			d, perr := Parse([]byte(condDoc(tt.cond)))
			var got Result
			var err error
			if perr != nil {
				err = perr
			} else {
				got, err = Evaluate(req, []Source{{Name: "id0", Doc: d}}, nil, OrdinaryResourcePolicy)
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.wantText) {
				t.Fatalf("Evaluate(%s) error = %v, want %v containing %q", tt.cond, err, tt.wantErr, tt.wantText)
			}
			if got.Allowed {
				t.Errorf("Evaluate(%s) = %+v with an error, want not allowed", tt.cond, got)
			}
		})
	}
}

func TestKnownKeys(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		keys  map[string][]string
		known []string
		want  bool // true: evaluates without an ErrUnknownKey
	}{
		{name: "global key", key: "aws:SourceArn", known: []string{}, want: true},
		{name: "global key in other case", key: "AWS:SOURCEARN", known: []string{}, want: true},
		{name: "global tag prefix", key: "aws:RequestTag/Owner", known: []string{}, want: true},
		{name: "global tag prefix needs a tag name", key: "aws:RequestTag/", known: []string{}, want: false},
		{name: "placeholder entry", key: "ec2:ResourceTag/Owner", known: []string{"ec2:ResourceTag/${TagKey}"}, want: true},
		{name: "slash-star entry", key: "ec2:ResourceTag/Owner", known: []string{"ec2:ResourceTag/*"}, want: true},
		{name: "exact entry, case-insensitive", key: "ec2:createaction", known: []string{"ec2:CreateAction"}, want: true},
		{name: "exact entry is not a prefix", key: "ec2:CreateActionX", known: []string{"ec2:CreateAction"}, want: false},
		{name: "present in Keys", key: "ec2:Attribute", keys: keys("EC2:attribute=x"), known: []string{}, want: true},
		{name: "nil KnownKeys checks nothing", key: "ec2:Whatever", known: nil, want: true},
		{name: "not listed", key: "ec2:Whatever", known: []string{"ec2:Region"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := condReq(tt.keys)
			req.KnownKeys = tt.known
			d := parsed(t, condDoc(`{"StringEqualsIfExists":{"`+tt.key+`":"x"}}`))
			_, err := Evaluate(req, []Source{{Name: "id0", Doc: d}}, nil, OrdinaryResourcePolicy)
			if got := !errors.Is(err, ErrUnknownKey); got != tt.want || (err != nil && !errors.Is(err, ErrUnknownKey)) {
				t.Errorf("Evaluate(key %s, known %v) error = %v, want known %v", tt.key, tt.known, err, tt.want)
			}
		})
	}
}

// TestUnknownKeyOtherAction: key names are checked only for statements about
// the requested action.
func TestUnknownKeyOtherAction(t *testing.T) {
	d := parsed(t, stmts(
		`{"Sid":"A","Effect":"Allow","Action":"ec2:DeleteTags","Resource":"*"}`,
		`{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"StringEquals":{"ec2:CreateAction":"CreateVolume"}}}`))
	req := condReq(nil)
	req.KnownKeys = []string{"aws:TagKeys"}
	got, err := Evaluate(req, []Source{{Name: "id0", Doc: d}}, nil, OrdinaryResourcePolicy)
	if err != nil || !got.Allowed {
		t.Errorf("Evaluate(ec2:DeleteTags) = %+v, %v, want Allow and no error", got, err)
	}
	req.Action = "ec2:CreateTags"
	if _, err := Evaluate(req, []Source{{Name: "id0", Doc: d}}, nil, OrdinaryResourcePolicy); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Evaluate(ec2:CreateTags) error = %v, want %v", err, ErrUnknownKey)
	}
}
