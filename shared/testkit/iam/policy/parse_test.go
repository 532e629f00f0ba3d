package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		json string
		want Document
	}{
		{
			name: "single statement object, strings",
			json: `{"Version":"2012-10-17","Id":"p1","Statement":{"Sid":"S","Effect":"Allow","Action":"ec2:DeleteVolume","Resource":"*"}}`,
			want: Document{Version: "2012-10-17", ID: "p1", Statement: []Statement{
				{Sid: "S", Effect: "Allow", Action: []string{"ec2:DeleteVolume"}, Resource: []string{"*"}}}},
		},
		{
			name: "statement list, lists, NotAction, NotResource",
			json: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Action":["ec2:CreateSnapshot","ec2:CreateTags"],"Resource":["arn:aws:ec2:*::snapshot/*","arn:aws:ec2:*:*:volume/*"]},
				{"Effect":"Deny","NotAction":"ec2:Describe*","NotResource":["arn:aws:ec2:*:*:volume/*"]}]}`,
			want: Document{Version: "2012-10-17", Statement: []Statement{
				{Effect: "Allow", Action: []string{"ec2:CreateSnapshot", "ec2:CreateTags"}, Resource: []string{"arn:aws:ec2:*::snapshot/*", "arn:aws:ec2:*:*:volume/*"}},
				{Effect: "Deny", NotAction: []string{"ec2:Describe*"}, NotResource: []string{"arn:aws:ec2:*:*:volume/*"}},
			}},
		},
		{
			name: "condition values: string, number, bool, list",
			json: `{"Statement":{"Effect":"Allow","Action":"ec2:CreateVolume","Resource":"*","Condition":{
				"StringEquals":{"aws:RequestTag/Owner":"suite","ec2:VolumeSize":8},
				"NumericLessThan":{"ec2:Iops":1.5e3},
				"Bool":{"aws:SecureTransport":true},
				"ForAllValues:StringEquals":{"aws:TagKeys":["Owner",7,false]}}}}`,
			want: Document{Statement: []Statement{{Effect: "Allow", Action: []string{"ec2:CreateVolume"}, Resource: []string{"*"},
				Condition: map[string]map[string][]string{
					"StringEquals":              {"aws:RequestTag/Owner": {"suite"}, "ec2:VolumeSize": {"8"}},
					"NumericLessThan":           {"ec2:Iops": {"1.5e3"}},
					"Bool":                      {"aws:SecureTransport": {"true"}},
					"ForAllValues:StringEquals": {"aws:TagKeys": {"Owner", "7", "false"}},
				}}}},
		},
		{
			name: "principal star",
			json: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"*"}}`,
			want: Document{Statement: []Statement{{Effect: "Allow", Principal: &Principal{Any: true}, Action: []string{"sns:Publish"}, Resource: []string{"*"}}}},
		},
		{
			name: "principal object",
			json: `{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::210987654321:root"],"Service":"events.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df9"},"Action":"sns:Publish","Resource":"*"}}`,
			want: Document{Statement: []Statement{{Effect: "Allow", Principal: &Principal{
				AWS: []string{"123456789012", "arn:aws:iam::210987654321:root"}, Service: []string{"events.amazonaws.com"},
				Federated: []string{"cognito-identity.amazonaws.com"}, CanonicalUser: []string{"79a59df9"}},
				Action: []string{"sns:Publish"}, Resource: []string{"*"}}}},
		},
		{
			name: "AWS star is any",
			json: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sns:Publish","Resource":"*"}}`,
			want: Document{Statement: []Statement{{Effect: "Allow", Principal: &Principal{Any: true, AWS: []string{"*"}}, Action: []string{"sns:Publish"}, Resource: []string{"*"}}}},
		},
		{
			name: "trust policy without Resource",
			json: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			want: Document{Version: "2012-10-17", Statement: []Statement{{Effect: "Allow", Principal: &Principal{Service: []string{"lambda.amazonaws.com"}}, Action: []string{"sts:AssumeRole"}}}},
		},
		{
			name: "NotPrincipal with Deny",
			json: `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:role/Admin"},"Action":"kms:*","Resource":"*"}}`,
			want: Document{Statement: []Statement{{Effect: "Deny", NotPrincipal: &Principal{AWS: []string{"arn:aws:iam::123456789012:role/Admin"}}, Action: []string{"kms:*"}, Resource: []string{"*"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.json))
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", tt.json, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%s) = %+v, want %+v; diff (-want +got):\n%s", tt.json, got, tt.want, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	st := func(fields string) string {
		return `{"Version":"2012-10-17","Statement":{` + fields + `}}`
	}
	const ok = `"Effect":"Allow","Action":"ec2:DeleteVolume","Resource":"*"`
	tests := []struct {
		name     string
		json     string
		wantErr  error
		wantText string
	}{
		{"invalid JSON", `{"Statement":`, ErrInvalidPolicy, "invalid JSON"},
		{"trailing data", st(ok) + `x`, ErrInvalidPolicy, "invalid JSON"},
		{"not an object", `null`, ErrInvalidPolicy, "not a JSON object"},
		{"a list", `[]`, ErrInvalidPolicy, "invalid JSON"},
		{"unknown top-level element", `{"Version":"2012-10-17","Statements":[]}`, ErrInvalidPolicy, `unknown top-level element "Statements"`},
		{"missing Statement", `{"Version":"2012-10-17"}`, ErrInvalidPolicy, "missing Statement"},
		{"empty Statement list", `{"Statement":[]}`, ErrInvalidPolicy, "no statements"},
		{"Statement a string", `{"Statement":"Allow"}`, ErrInvalidPolicy, "Statement: must be an object or a list of objects"},
		{"Statement list of strings", `{"Statement":["Allow"]}`, ErrInvalidPolicy, "statement 0: statement is not a JSON object"},
		{"bad Version", `{"Version":"2020-01-01","Statement":{` + ok + `}}`, ErrInvalidPolicy, `Version "2020-01-01"`},
		{"Version not a string", `{"Version":2012,"Statement":{` + ok + `}}`, ErrInvalidPolicy, "Version"},
		{"duplicate key", st(ok + `,"Effect":"Deny"`), ErrInvalidPolicy, `duplicate key "Effect" in $.Statement`},
		{"duplicate operator", st(ok + `,"Condition":{"StringEquals":{"aws:TagKeys":"a"},"StringEquals":{"aws:TagKeys":"b"}}`), ErrInvalidPolicy, `duplicate key "StringEquals"`},
		{"unknown statement element", st(ok + `,"Effects":"Allow"`), ErrInvalidPolicy, "Effects: unknown statement element"},
		{"element names are case-sensitive", st(`"effect":"Allow","Action":"ec2:DeleteVolume","Resource":"*"`), ErrInvalidPolicy, "effect: unknown statement element"},
		{"Effect other than Allow or Deny", st(`"Effect":"Permit","Action":"ec2:DeleteVolume","Resource":"*"`), ErrInvalidPolicy, `Effect "Permit" (want Allow or Deny)`},
		{"Effect lower case", st(`"Effect":"allow","Action":"ec2:DeleteVolume","Resource":"*"`), ErrInvalidPolicy, `Effect "allow"`},
		{"missing Effect", st(`"Action":"ec2:DeleteVolume","Resource":"*"`), ErrInvalidPolicy, `Effect ""`},
		{"both Action and NotAction", st(ok + `,"NotAction":"ec2:Describe*"`), ErrInvalidPolicy, "both Action and NotAction"},
		{"neither Action nor NotAction", st(`"Effect":"Allow","Resource":"*"`), ErrInvalidPolicy, "neither Action nor NotAction"},
		{"empty Action list", st(`"Effect":"Allow","Action":[],"Resource":"*"`), ErrInvalidPolicy, "empty Action list"},
		{"Action a number", st(`"Effect":"Allow","Action":5,"Resource":"*"`), ErrInvalidPolicy, "Action: must be a string or a list of strings"},
		{"Action without service", st(`"Effect":"Allow","Action":"DeleteVolume","Resource":"*"`), ErrInvalidPolicy, `action "DeleteVolume"`},
		{"Action with wildcard service", st(`"Effect":"Allow","Action":"e*:DeleteVolume","Resource":"*"`), ErrInvalidPolicy, `action "e*:DeleteVolume"`},
		{"both Resource and NotResource", st(ok + `,"NotResource":"arn:aws:ec2:*:*:volume/*"`), ErrInvalidPolicy, "both Resource and NotResource"},
		{"neither Resource nor NotResource", st(`"Effect":"Allow","Action":"ec2:DeleteVolume"`), ErrInvalidPolicy, "neither Resource nor NotResource"},
		{"empty Resource list", st(`"Effect":"Allow","Action":"ec2:DeleteVolume","Resource":[]`), ErrInvalidPolicy, "empty Resource list"},
		{"Resource not an ARN", st(`"Effect":"Allow","Action":"ec2:DeleteVolume","Resource":"vol-0abc"`), ErrInvalidPolicy, `Resource "vol-0abc" is neither "*" nor an ARN`},
		{"Resource with wildcard service", st(`"Effect":"Allow","Action":"ec2:DeleteVolume","Resource":"arn:aws:*:*:*:volume/*"`), ErrInvalidPolicy, "wildcard in the service segment"},
		{"Resource with policy variable", st(`"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"`), ErrUnsupported, "policy variable in Resource"},
		{"both Principal and NotPrincipal", st(`"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"sns:*","Resource":"*"`), ErrInvalidPolicy, "both Principal and NotPrincipal"},
		{"NotPrincipal with Allow", st(`"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":"sns:*","Resource":"*"`), ErrInvalidPolicy, "NotPrincipal with Allow"},
		{"Principal a string other than star", st(`"Effect":"Allow","Principal":"123456789012","Action":"sns:*","Resource":"*"`), ErrInvalidPolicy, `string principal "123456789012"`},
		{"Principal a number", st(`"Effect":"Allow","Principal":5,"Action":"sns:*","Resource":"*"`), ErrInvalidPolicy, `Principal: must be "*" or an object`},
		{"unknown principal type", st(`"Effect":"Allow","Principal":{"Aws":"123456789012"},"Action":"sns:*","Resource":"*"`), ErrInvalidPolicy, `unknown principal type "Aws"`},
		{"empty principal", st(`"Effect":"Allow","Principal":{},"Action":"sns:*","Resource":"*"`), ErrInvalidPolicy, "empty principal"},
		{"wildcard in principal ARN", st(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/*"},"Action":"sns:*","Resource":"*"`), ErrInvalidPolicy, "wildcard in principal"},
		{"AWS principal neither account nor ARN", st(`"Effect":"Allow","Principal":{"AWS":"SnapshotRole"},"Action":"sns:*","Resource":"*"`), ErrInvalidPolicy, `AWS principal "SnapshotRole"`},
		{"Condition not an object of objects", st(ok + `,"Condition":{"StringEquals":"a"}`), ErrInvalidPolicy, "Condition: must be"},
		{"condition value null", st(ok + `,"Condition":{"StringEquals":{"aws:TagKeys":null}}`), ErrInvalidPolicy, "null is not a condition value"},
		{"condition value object", st(ok + `,"Condition":{"StringEquals":{"aws:TagKeys":{"a":1}}}`), ErrInvalidPolicy, "must be a string, number or bool"},
		{"unknown condition operator", st(ok + `,"Condition":{"StringEqualz":{"aws:TagKeys":"a"}}`), ErrUnsupported, `unknown condition operator "StringEqualz"`},
		{"bad Bool value", st(ok + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}`), ErrInvalidPolicy, `Bool value "yes"`},
		{"policy variable in condition", st(ok + `,"Condition":{"StringEquals":{"aws:PrincipalTag/u":"${aws:username}"}}`), ErrUnsupported, "policy variable"},
		{"duplicate key in a later statement", `{"Statement":[{` + ok + `},{"Sid":"Second",` + ok + `,"Resource":"x"}]}`, ErrInvalidPolicy, "duplicate key"},
		{"error names the statement index", `{"Statement":[{` + ok + `},{"Sid":"Second","Effect":"Alow","Action":"a:b","Resource":"*"}]}`, ErrInvalidPolicy, "statement 1 (Second)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.json))
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.wantText) {
				t.Fatalf("Parse(%s) = %+v, %v; want error %v containing %q", tt.json, got, err, tt.wantErr, tt.wantText)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:DeleteTags","Resource":"arn:aws:ec2:us-east-1:123456789012:volume/*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["delete-volume"]},"Null":{"aws:TagKeys":"false"}}}}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:123456789012:rule/*"}}}]}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["123456789012"]},"NotAction":"kms:Describe*","NotResource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"NumericLessThan":{"a:b":1e3}}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Parse(%q) error %v wraps neither ErrInvalidPolicy nor ErrUnsupported", data, err)
			}
			return
		}
		if err := doc.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted a document that Validate rejects: %v", data, err)
		}
		// Evaluating a parsed document never panics and is deterministic.
		req := Request{PrincipalARN: roleARN, Action: "ec2:DeleteTags", Resource: volumeARN, Keys: map[string][]string{"aws:TagKeys": {"delete-volume"}}}
		src := []Source{{Name: "fuzz", Doc: doc}}
		r1, err1 := Evaluate(req, nil, src, OrdinaryResourcePolicy)
		r2, err2 := Evaluate(req, nil, src, OrdinaryResourcePolicy)
		if diff := cmp.Diff(r1, r2); diff != "" || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("Evaluate is not deterministic: %v / %v; %s", err1, err2, diff)
		}
	})
}
