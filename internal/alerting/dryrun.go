package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
)

// LogNotifier is the dry run (no SLACK_BOT_TOKEN): the same Notifier the
// dispatcher posts through, writing each message to the log as one JSON
// line instead of sending it, so the dispatcher has no dry-run branches and
// a dry run exercises the very path a real post takes (outbox, lease,
// rendering, recording the post).
type LogNotifier struct {
	Log *slog.Logger
	seq atomic.Int64
}

// ResolveChannel keeps the configured name: there is no workspace to ask.
func (l *LogNotifier) ResolveChannel(_ context.Context, nameOrID string) (string, error) {
	return nameOrID, nil
}

// PostMessage logs the message with its text, blocks and metadata and
// returns a ts unique to this process.
func (l *LogNotifier) PostMessage(_ context.Context, channelID string, blocks []slack.Block, text, threadTS string, broadcast bool, meta *slack.SlackMetadata) (string, error) {
	msg := "slack message (dry run)"
	switch {
	case threadTS != "":
		msg = "thread reply (dry run)"
	case meta != nil && meta.EventType == MetadataEventType:
		msg = "pql alert (dry run)"
	case meta != nil && meta.EventType == NoteEventType:
		msg = "escalation (dry run)"
	}
	args := []any{"channel", channelID, "message", map[string]any{"text": text, "blocks": blocks}}
	if threadTS != "" {
		args = append(args, "thread_ts", threadTS, "reply_broadcast", broadcast)
	}
	if meta != nil {
		args = append(args, "metadata", meta)
	}
	l.Log.Info(msg, args...)
	return fmt.Sprintf("%d.%06d", time.Now().Unix(), l.seq.Add(1)%1000000), nil
}

// UpdateMessage logs the message as it would now read.
func (l *LogNotifier) UpdateMessage(_ context.Context, channelID, ts string, blocks []slack.Block, text string) error {
	l.Log.Info("message updated (dry run)", "channel", channelID, "ts", ts, "message", map[string]any{"text": text, "blocks": blocks})
	return nil
}

// FindByMetadata finds nothing: the log is not searched.
func (l *LogNotifier) FindByMetadata(context.Context, string, string, string, string, time.Time) (string, bool, error) {
	return "", false, nil
}

// FindReplyByMetadata finds nothing.
func (l *LogNotifier) FindReplyByMetadata(context.Context, string, string, string, string, string) (string, bool, error) {
	return "", false, nil
}

// Permalink has no link to give.
func (l *LogNotifier) Permalink(context.Context, string, string) (string, error) { return "", nil }

// NextAttempt never retries: logging does not fail.
func (l *LogNotifier) NextAttempt(error, int) (bool, time.Duration, string) {
	return false, 0, "dry_run"
}
