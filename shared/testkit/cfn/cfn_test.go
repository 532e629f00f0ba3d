package cfn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const tmpl = `
Parameters:
  Tag: {Type: String, Default: "replace-snapshot=true"}
  Principals: {Type: CommaDelimitedList, Default: ""}
  Topic: {Type: String, Default: ""}
Conditions:
  CreateTopic: !Equals [!Ref Topic, ""]
  PrincipalsGiven: !Not [!Equals [!Join ["", !Ref Principals], ""]]
  Both: !And [!Condition CreateTopic, !Condition PrincipalsGiven]
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${AWS::StackName}-q"}}
  Made: {Type: AWS::SNS::Topic, Condition: CreateTopic}
`

func TestResolve(t *testing.T) {
	tpl, err := Parse([]byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params map[string]string
		expr   string
		want   any
	}{
		{"sub with pseudo-parameters", nil, `{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"}`, "arn:aws:ec2:eu-west-1:111122223333:volume/*"},
		{"sub with variables from split", nil, `{"Fn::Sub": ["aws:RequestTag/${K}=${V}", {"K": {"Fn::Select": [0, {"Fn::Split": ["=", {"Ref": "Tag"}]}]}, "V": {"Fn::Select": [1, {"Fn::Split": ["=", {"Ref": "Tag"}]}]}}]}`, "aws:RequestTag/replace-snapshot=true"},
		{"sub escape", nil, `{"Fn::Sub": "${!Literal}"}`, "${Literal}"},
		{"table arn by logical ID", nil, `{"Fn::GetAtt": ["Table", "Arn"]}`, "arn:aws:dynamodb:eu-west-1:111122223333:table/Table"},
		{"queue name from its property", nil, `{"Fn::GetAtt": ["Queue", "Arn"]}`, "arn:aws:sqs:eu-west-1:111122223333:lambda-suite-q"},
		{"queue ref is its URL", nil, `{"Ref": "Queue"}`, "https://sqs.eu-west-1.amazonaws.com/111122223333/lambda-suite-q"},
		{"if on a default", nil, `{"Fn::If": ["CreateTopic", {"Ref": "Made"}, {"Ref": "Topic"}]}`, "arn:aws:sns:eu-west-1:111122223333:Made"},
		{"if on a given parameter", map[string]string{"Topic": "arn:aws:sns:eu-west-1:1:t"}, `{"Fn::If": ["CreateTopic", {"Ref": "Made"}, {"Ref": "Topic"}]}`, "arn:aws:sns:eu-west-1:1:t"},
		{"list parameter", map[string]string{"Principals": "1,2"}, `{"Fn::If": ["PrincipalsGiven", {"Ref": "Principals"}, "none"]}`, []any{"1", "2"}},
		{"and of conditions", map[string]string{"Principals": "1"}, `{"Fn::If": ["Both", "yes", "no"]}`, "yes"},
		{"no value is left out", nil, `["a", {"Ref": "AWS::NoValue"}]`, []any{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tpl.Resolve(Env{Account: "111122223333", Region: "eu-west-1", Parameters: tt.params})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Value(anyOf(t, tt.expr))
			if err != nil {
				t.Fatalf("Value(%s) = %v", tt.expr, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Value(%s) (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func anyOf(t *testing.T, expr string) any {
	t.Helper()
	tpl, err := Parse([]byte(`X: ` + expr))
	if err != nil {
		t.Fatal(err)
	}
	return tpl.Raw["X"]
}

// TestUnknownIsAnError: what the package cannot resolve is never guessed.
func TestUnknownIsAnError(t *testing.T) {
	tpl, err := Parse([]byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpl.Resolve(Env{Account: "1", Region: "r"})
	if err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{`{"Fn::FindInMap": ["M", "a", "b"]}`, `{"Ref": "Nothing"}`, `{"Fn::GetAtt": ["Table", "StreamArn"]}`} {
		if _, err := s.Value(anyOf(t, expr)); err == nil {
			t.Errorf("Value(%s) = nil error, want one naming it", expr)
		}
	}
	if _, err := tpl.Resolve(Env{Parameters: map[string]string{"Nope": "x"}}); err == nil {
		t.Error("Resolve with an unknown parameter = nil error")
	}
}
