package awsid_test

import (
	"fmt"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// A tag from an operator's setting: key=value, with AWS's rules for user
// tags.
func ExampleParseTag() {
	for _, s := range []string{"replace-snapshot=true", " team = ops=east ", "aws:created=x", "no-equals"} {
		tag, err := awsid.ParseTag(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("key %q value %q\n", tag.Key, tag.Value)
	}
	// Output:
	// key "replace-snapshot" value "true"
	// key "team" value "ops=east"
	// error: tag "aws:created=x" uses the aws: prefix, which AWS reserves for its own tags
	// error: tag "no-equals" is not key=value
}

// An ARN is checked for its service, its shape and its partition: a topic
// in a China Region lives in aws-cn.
func ExampleParseSNSTopicARN() {
	for _, s := range []string{
		"arn:aws:sns:eu-west-1:123456789012:disk-alarms",
		"arn:aws:sns:cn-north-1:123456789012:disk-alarms",
		"arn:aws:sqs:eu-west-1:123456789012:disk-alarms",
	} {
		a, err := awsid.ParseSNSTopicARN(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println("topic", a.Resource, "in", a.Region, "of", a.AccountID)
	}
	// Output:
	// topic disk-alarms in eu-west-1 of 123456789012
	// error: "arn:aws:sns:cn-north-1:123456789012:disk-alarms" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC): partition "aws" does not hold Region "cn-north-1" (that is aws-cn)
	// error: "arn:aws:sqs:eu-west-1:123456789012:disk-alarms" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC): it is an ARN of service "sqs"
}

// Regions are named the same way in every partition.
func ExamplePartitionOf() {
	for _, region := range []string{"eu-west-1", "cn-north-1", "us-gov-west-1"} {
		fmt.Println(region, awsid.IsRegion(region), awsid.PartitionOf(region))
	}
	// Output:
	// eu-west-1 true aws
	// cn-north-1 true aws-cn
	// us-gov-west-1 true aws-us-gov
}

// Clip makes outside input safe to quote in a log: valid UTF-8, at most n
// characters, the cut marked.
func ExampleClip() {
	fmt.Println(awsid.Clip("i-0123456789abcdef0 and then some", 20))
	fmt.Println(awsid.Clip("bad \xff byte", 20))
	// Output:
	// i-0123456789abcdef0…
	// bad ? byte
}
