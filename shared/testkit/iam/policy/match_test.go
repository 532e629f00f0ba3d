package policy

import "testing"

func TestLike(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything:at/all", true},
		{"abc", "abc", true},
		{"abc", "ABC", false},
		{"a*c", "abbbc", true},
		{"a*c", "ac", true},
		{"a*c", "acb", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{"*a*b*", "xxaxxbxx", true},
		{"*a*b*", "xxbxxaxx", false},
		{"a**b", "ab", true},
		{"??", "é!", true},
		{"snap-*-?", "snap-1-2", true},
		{"snap-*-?", "snap-1-23", false},
	}
	for _, tt := range tests {
		if got := Like(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Like(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestActionMatches(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"ec2:DeleteVolume", "ec2:DeleteVolume", true},
		{"ec2:deletevolume", "EC2:DeleteVolume", true},
		{"ec2:Delete*", "ec2:DeleteVolume", true},
		{"ec2:*", "ec2:DeleteVolume", true},
		{"*", "kms:Decrypt", true},
		{"ec2:Describe*", "ec2:DeleteVolume", false},
		{"ec2:DeleteVolume", "ec2:DeleteVolumes", false},
		{"ec2:Delete?olume", "ec2:DeleteVolume", true},
		{"ebs:*", "ec2:DeleteVolume", false},
	}
	for _, tt := range tests {
		if got := ActionMatches(tt.pattern, tt.action); got != tt.want {
			t.Errorf("ActionMatches(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestResourceMatches(t *testing.T) {
	tests := []struct {
		name, pattern, resource string
		want                    bool
	}{
		{"star", "*", volumeARN, true},
		{"star matches star", "*", "*", true},
		{"exact", volumeARN, volumeARN, true},
		{"case-sensitive", "arn:aws:ec2:us-east-1:123456789012:volume/VOL-0abc", volumeARN, false},
		{"trailing star crosses slashes", "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", true},
		{"segment star", "arn:aws:ec2:*:123456789012:volume/*", volumeARN, true},
		{"segment-ending star crosses colons", "arn:aws:logs:us-east-1:123456789012:log-group:*", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:log-stream:x", true},
		{"mid-segment star stays in its segment", "arn:aws:ec2:us-*-1:123456789012:volume/*", "arn:aws:ec2:us-east:x-1:123456789012:volume/v", false},
		{"mid-segment star within its segment", "arn:aws:ec2:us-*-1:123456789012:volume/*", volumeARN, true},
		{"? is one character, not a colon", "arn:aws:ec2:us-east-1?123456789012:volume/vol-0abc", volumeARN, false},
		{"? in a segment", "arn:aws:ec2:us-east-?:123456789012:volume/vol-0abc", volumeARN, true},
		{"other type", "arn:aws:ec2:*:*:snapshot/*", volumeARN, false},
		{"ARN pattern against star", "arn:aws:ec2:*:*:*", "*", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResourceMatches(tt.pattern, tt.resource); got != tt.want {
				t.Errorf("ResourceMatches(%q, %q) = %v, want %v", tt.pattern, tt.resource, got, tt.want)
			}
		})
	}
}
