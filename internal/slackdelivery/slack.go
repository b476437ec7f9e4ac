// Package slackdelivery is where alerts meet Slack: the one adapter that
// turns alerting's messages (an alert, a note in its thread, an escalation)
// into Block Kit with slackui and delivers them through the Slack Web API,
// and the dry run that renders the same and writes it to the log. Both
// implement alerting.Notifier; the dispatcher in alerting keeps the outbox,
// the leases and the decision of what to send, and never sees a Slack type.
//
// It is a package of its own, not part of slackui (which stays pure
// rendering) or slackapi (a plain client also used by lookups, the App Home
// and the digest): it is the only code that knows both an alert and Slack.
package slackdelivery

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/alerting"
)

// Slack message metadata. Alert posts carry MetadataEventType with the
// alert id, so a post whose outcome was lost in a crash is found again
// (conversations.history with metadata) instead of posted twice; thread
// replies and escalation posts carry NoteEventType with their outbox job.
const (
	MetadataEventType = "pql_alert"
	NoteEventType     = "pql_note"
)

// API is the Slack Web API as delivery uses it; *slackapi.Client
// implements it.
type API interface {
	ResolveChannel(ctx context.Context, nameOrID string) (string, error)
	PostMessage(ctx context.Context, channelID string, blocks []slack.Block, text, threadTS string, broadcast bool, meta *slack.SlackMetadata) (string, error)
	UpdateMessage(ctx context.Context, channelID, ts string, blocks []slack.Block, text string) error
	FindByMetadata(ctx context.Context, channelID, eventType, key, value string, since time.Time) (string, bool, error)
	FindReplyByMetadata(ctx context.Context, channelID, threadTS, eventType, key, value string) (string, bool, error)
	Permalink(ctx context.Context, channelID, ts string) (string, error)
	NextAttempt(err error, attempt int) (retry bool, wait time.Duration, reason string)
}

// Slack delivers alert messages through the Slack Web API.
type Slack struct {
	api    API
	render *Renderer
	log    *slog.Logger
}

// NewSlack is the Slack adapter over api, rendering with r.
func NewSlack(api API, r *Renderer, log *slog.Logger) *Slack {
	return &Slack{api: api, render: r, log: log}
}

// NextAttempt is the API's retry policy.
func (s *Slack) NextAttempt(err error, attempt int) (bool, time.Duration, string) {
	return s.api.NextAttempt(err, attempt)
}

// Send renders m and posts, replies or edits it; on a retry it first looks
// for the message an earlier attempt may have delivered.
func (s *Slack) Send(ctx context.Context, m alerting.Message) (alerting.Receipt, error) {
	out := s.render.Message(m, s.permalinks(ctx))
	if m.Edit != nil {
		return *m.Edit, s.api.UpdateMessage(ctx, m.Edit.ChannelID, m.Edit.TS, out.Blocks, out.Text)
	}
	var ch, threadTS string
	if m.Thread != nil {
		ch, threadTS = m.Thread.ChannelID, m.Thread.TS
	} else {
		var err error
		if ch, err = s.api.ResolveChannel(ctx, m.Channel); err != nil {
			return alerting.Receipt{}, err
		}
	}
	meta := metadata(m)
	if m.Retry {
		ts, found, err := s.find(ctx, m, ch, threadTS)
		if err != nil {
			return alerting.Receipt{}, err
		}
		if found {
			at, _ := tsTime(ts)
			return alerting.Receipt{ChannelID: ch, TS: ts, Found: true, At: at}, nil
		}
	}
	ts, err := s.api.PostMessage(ctx, ch, out.Blocks, out.Text, threadTS, m.Broadcast && threadTS != "", meta)
	if err != nil {
		return alerting.Receipt{}, err
	}
	return alerting.Receipt{ChannelID: ch, TS: ts}, nil
}

// find looks for the message an earlier attempt at m may have delivered to
// ch (in threadTS's thread, when set), by the metadata it was tagged with.
func (s *Slack) find(ctx context.Context, m alerting.Message, ch, threadTS string) (string, bool, error) {
	switch {
	case threadTS != "":
		return s.api.FindReplyByMetadata(ctx, ch, threadTS, NoteEventType, "job_id", m.Key)
	case m.Kind == alerting.AlertMessage:
		return s.api.FindByMetadata(ctx, ch, MetadataEventType, "alert_id", m.Alert.ID.String(), m.Since.Add(-time.Minute))
	}
	return s.api.FindByMetadata(ctx, ch, NoteEventType, "job_id", m.Key, m.Since.Add(-time.Minute))
}

// permalinks links an escalation to each alert's message. The link is
// fetched when the escalation is rendered, not when the breach is
// recorded: that transaction makes the escalation exactly-once and must not
// wait on Slack. A failed lookup costs the line its link, not the post.
func (s *Slack) permalinks(ctx context.Context) func(*alerting.Alert) string {
	return func(a *alerting.Alert) string {
		if a.ChannelID == "" || a.MessageTS == "" {
			return ""
		}
		link, err := s.api.Permalink(ctx, a.ChannelID, a.MessageTS)
		if err != nil {
			s.log.Warn("permalink for escalation", "alert_id", a.ID.String(), "err", err)
			return ""
		}
		return link
	}
}

// metadata tags a new message so a retry can find it.
func metadata(m alerting.Message) *slack.SlackMetadata {
	if m.Kind == alerting.AlertMessage {
		a := m.Alert
		return &slack.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{"alert_id": a.ID.String(), "account_id": a.AccountID, "tier": a.Tier}}
	}
	p := map[string]any{"job_id": m.Key, "kind": "reply"}
	if m.Kind == alerting.EscalationMessage {
		p["kind"] = "escalation"
	}
	if m.Alert != nil {
		p["alert_id"] = m.Alert.ID.String()
	} else if len(m.Escalated) > 0 {
		p["alert_id"] = m.Escalated[0].ID.String()
	}
	return &slack.SlackMetadata{EventType: NoteEventType, EventPayload: p}
}

// decodeBlocks reads Block Kit JSON queued by an older build.
func decodeBlocks(raw json.RawMessage) []slack.Block {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var bs slack.Blocks
	if err := json.Unmarshal(raw, &bs); err != nil {
		return nil
	}
	return bs.BlockSet
}

// tsTime reads a Slack message ts ("1700000000.123456") as a time.
func tsTime(ts string) (time.Time, bool) {
	var sec, usec int64
	i := 0
	for ; i < len(ts) && ts[i] != '.'; i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return time.Time{}, false
		}
		sec = sec*10 + int64(ts[i]-'0')
	}
	for k := i + 1; k < len(ts) && k < i+7; k++ {
		if ts[k] < '0' || ts[k] > '9' {
			return time.Time{}, false
		}
		usec = usec*10 + int64(ts[k]-'0')
	}
	return time.Unix(sec, usec*1000).UTC(), sec > 0
}
