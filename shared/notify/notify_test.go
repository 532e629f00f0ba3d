package notify

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStructured(t *testing.T) {
	m := Message{Subject: "Health gate failed a deployment", Body: "The health gate failed job 1.\n\nWhat to do: wait."}
	s, err := Structured(m)
	if err != nil {
		t.Fatal(err)
	}
	var byProtocol map[string]string
	if err := json.Unmarshal([]byte(s), &byProtocol); err != nil {
		t.Fatalf("Structured = %q, not a JSON object of strings: %v", s, err)
	}
	for _, p := range []string{"default", "email"} {
		if byProtocol[p] != m.Body {
			t.Errorf("%s message = %q, want the body", p, byProtocol[p])
		}
	}
	var chat chatMessage
	if err := json.Unmarshal([]byte(byProtocol["https"]), &chat); err != nil {
		t.Fatalf("https message %q is not JSON: %v", byProtocol["https"], err)
	}
	want := chatMessage{Version: "1.0", Source: "custom", Content: chatContent{TextType: "client-markdown", Title: m.Subject, Description: m.Body}}
	if chat != want {
		t.Errorf("chat notification = %+v, want %+v", chat, want)
	}
}

func TestSubject(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Stage retry: retried web-app/Deploy", "Stage retry: retried web-app/Deploy"},
		{"newlines and non-ASCII", "gave up\non café", "gave up on caf?"},
		{"empty", " ", "lambda-suite"},
		{"long", strings.Repeat("x", 150), strings.Repeat("x", 97) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Subject(tt.in); got != tt.want {
				t.Errorf("Subject(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNoTopicSendsNothing(t *testing.T) {
	var n *Notifier
	if err := n.Send(t.Context(), Message{Subject: "x"}); err != nil {
		t.Errorf("nil Notifier Send = %v, want nil", err)
	}
	if err := (&Notifier{}).Send(t.Context(), Message{Subject: "x"}); err != nil {
		t.Errorf("Notifier without topic Send = %v, want nil", err)
	}
}
