package policy_test

import (
	"fmt"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam/policy"
)

func ExampleEvaluate() {
	doc, err := policy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": {
			"Sid": "RemoveMarker",
			"Effect": "Allow",
			"Action": "ec2:DeleteTags",
			"Resource": "arn:aws:ec2:us-east-1:123456789012:volume/*",
			"Condition": {
				"ForAllValues:StringEquals": {"aws:TagKeys": ["delete-volume"]},
				"Null": {"aws:TagKeys": "false"}
			}
		}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	identity := []policy.Source{{Name: "SnapshotRole/ec2", Doc: doc}}
	for _, tagKeys := range [][]string{{"delete-volume"}, {"delete-volume", "Name"}} {
		req := policy.Request{
			PrincipalARN: "arn:aws:iam::123456789012:role/SnapshotRole",
			Action:       "ec2:DeleteTags",
			Resource:     "arn:aws:ec2:us-east-1:123456789012:volume/vol-0abc",
			Keys:         map[string][]string{"aws:TagKeys": tagKeys},
			KnownKeys:    []string{"aws:RequestTag/${TagKey}", "ec2:ResourceTag/${TagKey}"},
		}
		res, err := policy.Evaluate(req, identity, nil, policy.OrdinaryResourcePolicy)
		if err != nil {
			fmt.Println(err)
			return
		}
		if res.Allowed {
			fmt.Printf("%v: %s by %s/%s\n", tagKeys, res.Decision, res.By.Source, res.By.Sid)
		} else {
			fmt.Printf("%v: %s %s\n", tagKeys, res.Decision, res.Reason)
		}
	}
	// Output:
	// [delete-volume]: Allow by SnapshotRole/ec2/RemoveMarker
	// [delete-volume Name]: ImplicitDeny because no identity-based policy allows the ec2:DeleteTags action
}

func ExampleEvaluate_keyPolicy() {
	keyPolicy, _ := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"EnableIAM","Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}`))
	req := policy.Request{
		PrincipalARN: "arn:aws:iam::123456789012:role/SnapshotRole",
		Action:       "kms:GenerateMac",
		Resource:     "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	}
	res, _ := policy.Evaluate(req, nil, []policy.Source{{Name: "ApprovalKey", Doc: keyPolicy}}, policy.KeyPolicy)
	fmt.Println(res.Decision, res.Reason)
	// Output:
	// ImplicitDeny because no identity-based policy allows the kms:GenerateMac action
}
