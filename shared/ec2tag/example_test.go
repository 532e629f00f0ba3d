package ec2tag_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/ec2tag"
)

func ExampleValue() {
	tags := []types.Tag{{Key: aws.String("Name"), Value: aws.String("web-1")}}
	fmt.Printf("%q %q\n", ec2tag.Value(tags, "Name"), ec2tag.Value(tags, "Owner"))
	// Output: "web-1" ""
}
