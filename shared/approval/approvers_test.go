package approval

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// TestConfirmed: a subscription waiting for its confirmation is listed
// with "PendingConfirmation" for its ARN, and is not a subscriber yet.
func TestConfirmed(t *testing.T) {
	sub := func(arn string) snstypes.Subscription { return snstypes.Subscription{SubscriptionArn: aws.String(arn)} }
	tests := []struct {
		name string
		subs []snstypes.Subscription
		want int
	}{
		{"none", nil, 0},
		{"pending only", []snstypes.Subscription{sub("PendingConfirmation"), sub("PendingConfirmation")}, 0},
		{"one confirmed", []snstypes.Subscription{sub("PendingConfirmation"), sub("arn:aws:sns:us-east-1:123456789012:ami-approvers:2c6d5205-4b1a-43b2-a05f-9b472305a615")}, 1},
		{"deleted", []snstypes.Subscription{sub("Deleted"), {}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Confirmed(tt.subs); got != tt.want {
				t.Errorf("Confirmed = %d, want %d", got, tt.want)
			}
		})
	}
}
