package diskalarm

import "log/slog"

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
