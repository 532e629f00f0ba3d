package ec2tag

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestValue(t *testing.T) {
	tags := []types.Tag{
		{Key: aws.String("Name"), Value: aws.String("web-1")},
		{Key: aws.String("empty"), Value: aws.String("")},
		{Key: aws.String("no-value")},
	}
	tests := []struct{ name, key, want string }{
		{"present", "Name", "web-1"},
		{"keys are case-sensitive", "name", ""},
		{"absent", "other", ""},
		{"empty value", "empty", ""},
		{"nil value", "no-value", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Value(tags, tt.key); got != tt.want {
				t.Errorf("Value(tags, %q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
	if got := Value(nil, "Name"); got != "" {
		t.Errorf("Value(nil, Name) = %q, want empty", got)
	}
}
