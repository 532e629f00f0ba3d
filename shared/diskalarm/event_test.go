package diskalarm

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	samples "github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func sample(tb testing.TB, name string) []byte {
	tb.Helper()
	return samples.Bytes(tb, "ebs-alarms", name)
}

func TestDecodeSamples(t *testing.T) {
	tests := []struct {
		file string
		want Invocation
	}{
		{"direct-invocation.json", Invocation{Kind: KindDirect, NamePattern: "Windows*", TopicARN: "arn:aws:sns:us-east-1:123456789012:disk-space-alerts"}},
		{"running.json", Invocation{Kind: KindStateChange, InstanceID: "i-0123456789abcdef0", State: "running"}},
		{"terminated.json", Invocation{Kind: KindStateChange, InstanceID: "i-0123456789abcdef0", State: "terminated"}},
		{"scheduled.json", Invocation{Kind: KindSchedule}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := DecodeInvocation(sample(t, tt.file))
			if err != nil || got.Kind != tt.want.Kind || got.NamePattern != tt.want.NamePattern || got.TopicARN != tt.want.TopicARN ||
				got.InstanceID != tt.want.InstanceID || got.State != tt.want.State {
				t.Errorf("DecodeInvocation = %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}

	inv, err := DecodeInvocation(sample(t, "resume.json"))
	if err != nil || inv.Kind != KindQueue || len(inv.Messages) != 1 {
		t.Fatalf("DecodeInvocation(resume.json) = %+v, %v, want one queued message", inv, err)
	}
	m, req, err := DecodeResume(inv.Messages[0].Body)
	if err != nil || m.Pass != 2 || m.MAC == "" || m.SealedAt.IsZero() || req.Cursor == "" || req.Selector.Tag != (awsid.Tag{Key: "disk-alarms", Value: "enabled"}) || req.Trigger != TriggerResume {
		t.Errorf("DecodeResume(resume.json) = %+v, %+v, %v", m, req, err)
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	const topic = `"arn:aws:sns:us-east-1:123456789012:alerts"`
	tests := []struct {
		name, payload, wantErr string
	}{
		{"not JSON", `{"hostname": "Win`, "not a JSON object"},
		{"JSON array", `["Windows*"]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"unknown trigger", `{"operation": "create"}`, "unknown trigger"},
		{"unknown action", `{"action": "create"}`, `unknown action "create"`},
		{"remove-all without dryRun", `{"action": "remove-all"}`, "dryRun is missing"},
		{"remove-all with dryRun a string", `{"action": "remove-all", "dryRun": "true"}`, "dryRun must be true or false, got a string"},
		{"pattern not a string", `{"hostname": 42, "sns_topic_arn": ` + topic + `}`, "hostname must be a string, got a number"},
		{"pattern a list", `{"hostname": ["Windows*"], "sns_topic_arn": ` + topic + `}`, "hostname must be a string, got an array"},
		{"pattern missing", `{"sns_topic_arn": ` + topic + `}`, "hostname is missing"},
		{"pattern empty", `{"hostname": "", "sns_topic_arn": ` + topic + `}`, "empty"},
		{"misspelt field", `{"hostname": "Windows*", "sns_topic": ` + topic + `}`, `unknown field "sns_topic"`},
		{"topic not an ARN", `{"hostname": "Windows*", "sns_topic_name": "disk-alerts"}`, "not an SNS topic ARN"},
		{"topic of another service", `{"hostname": "Windows*", "sns_topic_arn": "arn:aws:sqs:us-east-1:123456789012:alerts"}`, "not an SNS topic ARN"},
		{"topic not a string", `{"hostname": "Windows*", "sns_topic_arn": {"arn": "x"}}`, "sns_topic_arn must be a string"},
		{"two different topics", `{"hostname": "Windows*", "sns_topic_name": ` + topic + `, "sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:other"}`, "different topics"},
		{"other EventBridge event", `{"source": "aws.ec2", "detail-type": "EBS Volume Notification", "detail": {}}`, "unknown trigger"},
		{"state change without instance", `{"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {"state": "running"}}`, "not an EC2 instance ID"},
		{"state change detail not an object", `{"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": "running"}`, "no detail object"},
		{"SQS batch without records", `{"Records": []}`, "without records"},
		{"records of another service", `{"Records": [{"eventSource": "aws:s3"}]}`, "unknown trigger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeInvocation([]byte(tt.payload))
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DecodeInvocation(%s) = %v, want ErrBadInput containing %q", tt.payload, err, tt.wantErr)
			}
		})
	}
}

func TestDecodeResumeRejectsForeignMessages(t *testing.T) {
	for _, body := range []string{
		`not json`,
		`{"kind": "other", "trigger": "schedule", "cursor": "x", "pass": 2}`,
		`{"kind": "lambda-suite/ebs-alarms/resume/v1", "trigger": "running", "cursor": "x", "pass": 2}`,
		`{"kind": "lambda-suite/ebs-alarms/resume/v1", "trigger": "schedule", "cursor": "", "pass": 2}`,
		`{"kind": "lambda-suite/ebs-alarms/resume/v1", "trigger": "schedule", "cursor": "x", "pass": 1}`,
		`{"kind": "lambda-suite/ebs-alarms/resume/v1", "trigger": "direct", "namePattern": "W*", "snsTopicArn": "nope", "cursor": "x", "pass": 2}`,
		`{"kind": "lambda-suite/ebs-alarms/resume/v1", "trigger": "schedule", "cursor": "x", "pass": 2, "extra": true}`,
	} {
		if _, _, err := DecodeResume(body); !errors.Is(err, ErrBadInput) {
			t.Errorf("DecodeResume(%s) = %v, want ErrBadInput", body, err)
		}
	}
}

func TestMatchName(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"Windows*", "Windows-app-1", true},
		{"Windows*", "Windows", true},
		{"Windows*", "windows-app-1", false}, // EC2 filters are case-sensitive
		{"Windows*", "linux-web", false},
		{"*sql*", "prod-sql-01", true},
		{"web-?", "web-1", true},
		{"web-?", "web-12", false},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"ü?", "üß", true},
		// A star is a wildcard even where the name holds a literal '*'.
		{"Windows*", "Windows*prod", true},
		{"*", "*0", true},
	}
	for _, tt := range tests {
		if got := MatchName(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchName(%q, %q) = %t, want %t", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func seedFromEvents(f *testing.F) {
	all := samples.All(f, "ebs-alarms")
	for _, name := range slices.Sorted(maps.Keys(all)) {
		f.Add(all[name])
	}
}

func FuzzDecodeInvocation(f *testing.F) {
	seedFromEvents(f)
	f.Add([]byte(`{"hostname": 1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		inv, err := DecodeInvocation(raw)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v does not wrap ErrBadInput", err)
			}
			return
		}
		switch inv.Kind {
		case KindDirect:
			if ValidatePattern(inv.NamePattern) != nil || (inv.TopicARN != "" && checkTopic(inv.TopicARN) != nil) {
				t.Fatalf("accepted an invalid direct invocation %+v", inv)
			}
		case KindStateChange:
			if !awsid.IsInstanceID(inv.InstanceID) || inv.State == "" {
				t.Fatalf("accepted an invalid state change %+v", inv)
			}
		case KindQueue:
			if len(inv.Messages) == 0 {
				t.Fatal("accepted an SQS event without records")
			}
		case KindSchedule, KindRemoveAll:
		default:
			t.Fatalf("unknown kind %q", inv.Kind)
		}
	})
}

func FuzzDecodeResume(f *testing.F) {
	inv, err := DecodeInvocation(sample(f, "resume.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(inv.Messages[0].Body)
	f.Fuzz(func(t *testing.T, body string) {
		_, req, err := DecodeResume(body)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("error %v does not wrap ErrBadInput", err)
			}
			return
		}
		if req.Validate() != nil || req.Cursor == "" {
			t.Fatalf("accepted an invalid continuation %+v", req)
		}
	})
}

// FuzzMatchName checks the matcher against a regular expression built from
// the same pattern.
func FuzzMatchName(f *testing.F) {
	for _, s := range [][2]string{{"Windows*", "Windows-1"}, {"a*b?c", "axbyc"}, {"*", ""}, {"??", "ü"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) || len(pattern) > 64 {
			return
		}
		var re strings.Builder
		re.WriteString(`^`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`$`)
		want := regexp.MustCompile("(?s)" + re.String()).MatchString(name)
		if got := MatchName(pattern, name); got != want {
			t.Fatalf("MatchName(%q, %q) = %t, regexp says %t", pattern, name, got, want)
		}
	})
}
