package settings

import (
	"strings"
	"testing"
	"time"
)

func TestReaderReportsEveryProblemByName(t *testing.T) {
	r := NewReader(Map(map[string]string{
		"A_BOOL":  "maybe",
		"A_DUR":   "soon",
		"A_RANGE": "48h",
		"A_NUM":   "-1",
		"GOOD":    " 5s ",
	}))
	r.Bool("A_BOOL", false)
	r.Duration("A_DUR", time.Second, 0, time.Hour)
	r.Duration("A_RANGE", time.Second, 0, time.Hour)
	r.Float("A_NUM", 1, 0, 10)
	if got := r.Duration("GOOD", time.Second, 0, time.Hour); got != 5*time.Second {
		t.Errorf("Duration(GOOD) = %s, want 5s", got)
	}
	err := r.Err()
	if err == nil {
		t.Fatal("Err() = nil, want four problems")
	}
	for _, name := range []string{"A_BOOL", "A_DUR", "A_RANGE", "A_NUM"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Err() = %q, want it to name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "GOOD") {
		t.Errorf("Err() = %q names GOOD, which is valid", err)
	}
}

func TestReaderDefaults(t *testing.T) {
	r := NewReader(Map(map[string]string{"BLANK": "  "}))
	if got := r.String("BLANK", "def"); got != "def" {
		t.Errorf("String(BLANK) = %q, want the default", got)
	}
	if got := r.Bool("UNSET", true); !got {
		t.Errorf("Bool(UNSET) = false, want the default true")
	}
	if got := r.Float("UNSET", 2.5, 0, 10); got != 2.5 {
		t.Errorf("Float(UNSET) = %g, want 2.5", got)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}
