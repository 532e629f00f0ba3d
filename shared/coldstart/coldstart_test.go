package coldstart

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/settings"
)

func TestConfigExitsWithOneLineNamingEveryVariable(t *testing.T) {
	var code int
	defer func(old func(int)) { exit = old }(exit)
	exit = func(c int) { code = c }

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	Config(log, func(settings.Lookup) (struct{}, error) {
		return struct{}{}, errors.Join(errors.New("MIN_AGE: bad"), errors.New("DRY_RUN: bad"))
	})
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want 1: %q", len(lines), buf.String())
	}
	var rec struct{ Msg, Error string }
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Error, "MIN_AGE") || !strings.Contains(rec.Error, "DRY_RUN") {
		t.Errorf("logged error %q, want both variables named", rec.Error)
	}
}

func TestConfigReturnsValidConfig(t *testing.T) {
	defer func(old func(int)) { exit = old }(exit)
	exit = func(c int) { t.Fatalf("exit(%d) on a valid configuration", c) }
	got := Config(slog.Default(), func(settings.Lookup) (int, error) { return 42, nil })
	if got != 42 {
		t.Errorf("Config = %d, want 42", got)
	}
}
