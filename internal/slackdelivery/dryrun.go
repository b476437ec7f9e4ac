package slackdelivery

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pqlbot/pqlbot/internal/alerting"
)

// Log is the dry run (no SLACK_BOT_TOKEN): the same Notifier the
// dispatcher delivers through, rendering each message exactly as Slack
// would get it and writing it to the log as one JSON line instead of
// sending it. The dispatcher has no dry-run branches, so a dry run
// exercises the very path a real post takes (outbox, lease, rendering,
// recording the post).
type Log struct {
	log    *slog.Logger
	render *Renderer
	seq    atomic.Int64
}

// NewLog is the dry run, rendering with r and writing to log.
func NewLog(r *Renderer, log *slog.Logger) *Log {
	return &Log{log: log, render: r}
}

// Send logs the message with its text, blocks and metadata. A new message
// gets a ts unique to this process; the configured channel name stands for
// its id, as there is no workspace to ask.
func (l *Log) Send(_ context.Context, m alerting.Message) (alerting.Receipt, error) {
	out := l.render.Message(m, func(*alerting.Alert) string { return "" })
	body := map[string]any{"text": out.Text, "blocks": out.Blocks}
	if m.Edit != nil {
		l.log.Info("message updated (dry run)", "channel", m.Edit.ChannelID, "ts", m.Edit.TS, "message", body)
		return *m.Edit, nil
	}
	meta := metadata(m)
	msg, args := "slack message (dry run)", []any{"message", body, "metadata", meta}
	r := alerting.Receipt{ChannelID: m.Channel, TS: fmt.Sprintf("%d.%06d", time.Now().Unix(), l.seq.Add(1)%1000000)}
	switch {
	case m.Thread != nil:
		msg, r.ChannelID = "thread reply (dry run)", m.Thread.ChannelID
		args = append(args, "thread_ts", m.Thread.TS, "reply_broadcast", m.Broadcast)
	case m.Kind == alerting.AlertMessage:
		msg = "pql alert (dry run)"
	case m.Kind == alerting.EscalationMessage:
		msg = "escalation (dry run)"
	}
	l.log.Info(msg, append([]any{"channel", r.ChannelID}, args...)...)
	return r, nil
}

// NextAttempt never retries: logging does not fail.
func (l *Log) NextAttempt(error, int) (bool, time.Duration, string) {
	return false, 0, "dry_run"
}
