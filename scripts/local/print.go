package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// printer writes the driver's report: headings per scenario and step, a
// function's log lines and result indented under the step, checks marked.
type printer struct {
	w      io.Writer
	passed int
	failed int
}

func (p *printer) heading(format string, args ...any) {
	title := fmt.Sprintf(format, args...)
	fmt.Fprintf(p.w, "\n%s\n%s\n", title, strings.Repeat("=", len([]rune(title))))
}

func (p *printer) step(format string, args ...any) {
	fmt.Fprintf(p.w, "\n-- %s\n", fmt.Sprintf(format, args...))
}

func (p *printer) note(format string, args ...any) {
	fmt.Fprintf(p.w, "   %s\n", fmt.Sprintf(format, args...))
}

// check records an expectation about the resulting AWS state.
func (p *printer) check(ok bool, format string, args ...any) {
	mark := "✓"
	if ok {
		p.passed++
	} else {
		p.failed++
		mark = "✗ FAILED:"
	}
	fmt.Fprintf(p.w, "   %s %s\n", mark, fmt.Sprintf(format, args...))
}

// result prints one invocation: its log lines, then what it returned.
func (p *printer) result(res runtimeapi.Result) {
	sc := bufio.NewScanner(bytes.NewReader(res.Log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			fmt.Fprintf(p.w, "   log    %s\n", logLine(line))
		}
	}
	switch {
	case res.FunctionError != nil:
		fmt.Fprintf(p.w, "   error  %s: %s\n", res.FunctionError.Type, res.FunctionError.Message)
	case len(res.Payload) > 0:
		var out bytes.Buffer
		if json.Indent(&out, res.Payload, "          ", "  ") != nil {
			out.Reset()
			out.Write(res.Payload)
		}
		fmt.Fprintf(p.w, "   result %s\n", out.String())
	}
	fmt.Fprintf(p.w, "   (request %s, %s)\n", res.RequestID, res.Duration.Round(time.Millisecond))
}

// logLine renders a JSON log record (lambdacontext's keys, or slog's) as
// "LEVEL message key=value ...", in the record's key order; the timestamp
// and requestId are left out, since the step already says which invocation
// it is. Other lines pass unchanged.
func logLine(line string) string {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return line
	}
	var level, msg string
	var attrs []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return line
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return line
		}
		var s string
		isString := json.Unmarshal(raw, &s) == nil
		switch {
		case key == "level" && isString:
			level = s
		case (key == "message" || key == "msg") && isString:
			msg = s
		case key == "timestamp" || key == "time" || key == "requestId":
		case isString:
			attrs = append(attrs, key+"="+quoteIfNeeded(s))
		default:
			attrs = append(attrs, key+"="+string(raw))
		}
	}
	if level == "" && msg == "" {
		return line
	}
	return strings.TrimSpace(fmt.Sprintf("%-5s %s %s", level, msg, strings.Join(attrs, " ")))
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " =\"\t\n") {
		return strconv.Quote(s)
	}
	return s
}
