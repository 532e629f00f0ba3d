package diskalarm

import (
	"errors"
	"log/slog"
)

// Line is a log line that a decision comes with: its level, its message
// and its attributes, under the house's lowerCamel keys. The caller logs
// it as it is (slog.Logger.LogAttrs), so each decision's wording lives
// beside the decision.
type Line struct {
	Level slog.Level
	Msg   string
	Attrs []slog.Attr
}

func info(msg string, attrs ...slog.Attr) Line {
	return Line{Level: slog.LevelInfo, Msg: msg, Attrs: attrs}
}

func failed(msg string, err error, attrs ...slog.Attr) Line {
	return Line{Level: slog.LevelError, Msg: msg, Attrs: append(attrs, slog.String("error", err.Error()))}
}

// FailedLine is the line of a pass of req that returned err before any
// write: a request rejected (ErrBadInput), or a read that failed. Its Msg
// is also the reason the pass is counted under as failed.
func FailedLine(req Request, err error) Line {
	msg := "reconcile failed before any write"
	if errors.Is(err, ErrBadInput) {
		msg = "request rejected"
	}
	return failed(msg, err, slog.String("trigger", req.Trigger))
}

// Lines is what is logged after the pass of req that returned res, with
// s, NextStep's decision, following it: the step's line, if it has one,
// then the pass's summary, unless the run ends in err: StepFail's
// (Result.NoProgress) or, for StepContinue, the hand-over's.
func (s Step) Lines(req Request, res Result, err error) []Line {
	_, pass := req.Chain()
	var lines []Line
	switch s {
	case StepFail:
		if err == nil {
			err = res.NoProgress()
		}
		return []Line{failed("no progress before the deadline", err, slog.String("trigger", req.Trigger), slog.Int("left", res.Left))}
	case StepStuck:
		lines = append(lines, Line{Level: slog.LevelError,
			Msg:   "the cursor did not move forward before the deadline; not continuing, the next scheduled run tries again",
			Attrs: []slog.Attr{slog.Int("pass", pass), slog.String("cursor", req.Cursor), slog.Int("writes", res.Writes)}})
	case StepNoQueue:
		lines = append(lines, Line{Level: slog.LevelWarn, Msg: "no RESUME_QUEUE_URL: the next scheduled run continues",
			Attrs: []slog.Attr{slog.String("cursor", res.Cursor)}})
	case StepOneInstance:
		lines = append(lines, Line{Level: slog.LevelWarn, Msg: "a state change's run stopped at the deadline; the next scheduled run continues",
			Attrs: []slog.Attr{slog.String("trigger", req.Trigger), slog.String("cursor", res.Cursor)}})
	case StepContinue:
		if err != nil {
			return []Line{failed("continuation not queued", err, slog.String("cursor", res.Cursor))}
		}
		lines = append(lines, info("continuation queued", slog.String("cursor", res.Cursor), slog.Int("pass", pass+1)))
	}
	return append(lines, info("reconcile done",
		slog.String("trigger", res.Trigger), slog.String("scope", res.Scope), slog.String("selection", res.Selection), slog.Int("pass", pass),
		slog.Int("instances", res.Instances), slog.Int("disks", res.Disks),
		slog.Int("created", res.Created), slog.Int("updated", res.Updated), slog.Int("unchanged", res.Unchanged),
		slog.Int("deleted", res.Deleted), slog.Int("kept", res.Kept),
		slog.Int("skipped", res.SkippedTotal), slog.Int("sizeUnknown", len(res.SizeUnknown)), slog.Int("failed", len(res.Failed)),
		slog.Bool("incomplete", res.Incomplete), slog.String("note", res.Note)))
}
