package diskalarm

import (
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

func TestSelector(t *testing.T) {
	named := func(name, state string, tags ...string) Instance {
		i := Instance{ID: "i-0aaaaaaaaaaaaaaaa", State: state, Tags: map[string]string{}}
		if name != "" {
			i.Name, i.Tags["Name"] = name, name
		}
		for j := 0; j+1 < len(tags); j += 2 {
			i.Tags[tags[j]] = tags[j+1]
		}
		return i
	}
	s := Selector{NamePattern: "*", Tag: awsid.Tag{Key: "disk-alarms", Value: "enabled"}}
	tests := []struct {
		name string
		inst Instance
		want bool
	}{
		{"named and running", named("web-1", "running"), true},
		{"named and stopped", named("web-1", "stopped"), true},
		{"named but terminated", named("web-1", "terminated"), false},
		{"named but shutting down", named("web-1", "shutting-down"), false},
		{"no Name tag: * does not match, as in EC2", named("", "running"), false},
		{"no Name tag but opted in", named("", "running", "disk-alarms", "enabled"), true},
		{"opt-in tag with another value", named("", "running", "disk-alarms", "disabled"), false},
	}
	for _, tt := range tests {
		if got := s.Selects(tt.inst); got != tt.want {
			t.Errorf("Selects(%s) = %t, want %t", tt.name, got, tt.want)
		}
	}
	if (Selector{}).Selects(named("web-1", "running")) {
		t.Errorf("the zero Selector selected an instance")
	}
}
