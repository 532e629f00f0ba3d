package awsid

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

func TestPartitionOf(t *testing.T) {
	tests := map[string]string{
		"us-east-1": PartitionAWS, "eu-west-1": PartitionAWS, "cn-north-1": PartitionChina, "cn-northwest-1": PartitionChina,
		"us-gov-west-1": PartitionGovCloud, "us-iso-east-1": PartitionISO, "us-isob-east-1": PartitionISOB,
		"eu-isoe-west-1": PartitionISOE, "us-isof-south-1": PartitionISOF, "eusc-de-east-1": PartitionEUSC,
	}
	for region, want := range tests {
		if got := PartitionOf(region); got != want {
			t.Errorf("PartitionOf(%q) = %q, want %q", region, got, want)
		}
	}
}

func TestCheckPartition(t *testing.T) {
	tests := []struct {
		arn string
		ok  bool
	}{
		{"arn:aws:sns:us-east-1:123456789012:alerts", true},
		{"arn:aws-cn:sns:cn-north-1:123456789012:alerts", true},
		{"arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts", true},
		{"arn:aws:iam::123456789012:role/x", true},
		{"arn:aws-cn:health:global::event/IAM/X/X_1", true},
		{"arn:aws-cn:sns:us-east-1:123456789012:alerts", false},
		{"arn:aws:sns:cn-north-1:123456789012:alerts", false},
		{"arn:aws-us-gov:sns:us-east-1:123456789012:alerts", false},
		{"arn:aws-mars:sns:us-east-1:123456789012:alerts", false},
		{"arn:AWS:sns:us-east-1:123456789012:alerts", false},
	}
	for _, tt := range tests {
		a, err := arn.Parse(tt.arn)
		if err != nil {
			t.Fatalf("arn.Parse(%q): %v", tt.arn, err)
		}
		if err := CheckPartition(a); (err == nil) != tt.ok {
			t.Errorf("CheckPartition(%s) = %v, want ok %t", tt.arn, err, tt.ok)
		}
	}
}

func TestCheckResources(t *testing.T) {
	const id = "instance/i-0123456789abcdef0"
	tests := []struct {
		name      string
		resources []string
		ok        bool
	}{
		{"none: nothing to compare", nil, true},
		{"the instance", []string{"arn:aws:ec2:us-east-1:123456789012:" + id}, true},
		{"the instance in aws-us-gov", []string{"arn:aws-us-gov:ec2:us-gov-west-1:123456789012:" + id}, true},
		{"among others", []string{"arn:aws:ec2:us-east-1:123456789012:volume/vol-1", "arn:aws-cn:ec2:cn-north-1:123456789012:" + id}, true},
		{"another instance", []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0fedcba9876543210"}, false},
		{"another service", []string{"arn:aws:lambda:us-east-1:123456789012:" + id}, false},
		{"the wrong partition", []string{"arn:aws-cn:ec2:us-east-1:123456789012:" + id}, false},
		{"not an ARN", []string{id}, false},
	}
	for _, tt := range tests {
		if err := CheckResources(tt.resources, "ec2", id); (err == nil) != tt.ok {
			t.Errorf("%s: CheckResources(%q) = %v, want ok %t", tt.name, tt.resources, err, tt.ok)
		}
	}
}

func FuzzCheckResources(f *testing.F) {
	for _, s := range []string{
		"arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
		"arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0123456789abcdef0",
		"arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/i-0123456789abcdef0",
		"arn:aws-cn:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckResources([]string{s}, "ec2", "instance/i-0123456789abcdef0") != nil {
			return
		}
		a, err := arn.Parse(s)
		if err != nil || a.Service != "ec2" || CheckPartition(a) != nil {
			t.Errorf("CheckResources accepted %q", s)
		}
	})
}

func TestConsoleHostByPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "us-east-1.console.aws.amazon.com",
		"eu-central-2":   "eu-central-2.console.aws.amazon.com",
		"cn-north-1":     "console.amazonaws.cn",
		"cn-northwest-1": "console.amazonaws.cn",
		"us-gov-west-1":  "console.amazonaws-us-gov.com",
		"us-iso-east-1":  "",
		"eusc-de-east-1": "",
	} {
		if got := ConsoleHost(region); got != want {
			t.Errorf("ConsoleHost(%q) = %q, want %q", region, got, want)
		}
	}
}
