package slackapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

const (
	// historyPageSize is Slack's recommended page size for history calls.
	historyPageSize = 200
	// maxHistoryPages bounds a metadata search (10,000 messages), so a
	// search over a busy channel fails loudly instead of sweeping it all.
	maxHistoryPages = 50
	// metadataSkew widens a metadata search's lower bound: Slack stamps
	// messages with its own clock, which may run behind ours.
	metadataSkew = 5 * time.Minute
)

// ErrHistoryTooLong is returned by FindByMetadata and FindReplyByMetadata
// when the search would read more than 10,000 messages.
var ErrHistoryTooLong = errors.New("slack history search exceeded its page limit")

// PostMessage posts a message to a channel id, as a reply in threadTS's
// thread when threadTS is set, with meta attached when not nil, and returns
// its ts. text is the notification fallback; it must already be escaped for
// mrkdwn (slackui does that), so it is sent as is. Link unfurls are off: an
// alert should not grow a preview of the account page.
//
// A post that fails with a timeout or a 5xx may still have been accepted:
// see FindByMetadata.
func (c *Client) PostMessage(ctx context.Context, channelID string, blocks []slack.Block, text string, threadTS string, broadcast bool, meta *slack.SlackMetadata) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl()}
	if text != "" {
		opts = append(opts, slack.MsgOptionText(text, false))
	}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
		if broadcast {
			opts = append(opts, slack.MsgOptionBroadcast())
		}
	}
	if meta != nil {
		opts = append(opts, slack.MsgOptionMetadata(*meta))
	}
	var ts string
	err := c.do(ctx, "chat.postMessage", func(ctx context.Context) (err error) {
		_, ts, err = c.api.PostMessageContext(ctx, channelID, opts...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("slack chat.postMessage to %s: %w", channelID, err)
	}
	return ts, nil
}

// UpdateMessage replaces the text and blocks of the message at ts. The
// message becomes exactly what is given: no blocks clears them, and the text
// is always sent so the notification fallback never goes stale.
func (c *Client) UpdateMessage(ctx context.Context, channelID, ts string, blocks []slack.Block, text string) error {
	err := c.do(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channelID, ts,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
	if err != nil {
		return fmt.Errorf("slack chat.update %s/%s: %w", channelID, ts, err)
	}
	return nil
}

// PostEphemeral shows a message only to userID, in a channel the bot is in.
func (c *Client) PostEphemeral(ctx context.Context, channelID, userID string, blocks []slack.Block, text string) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	err := c.do(ctx, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := c.api.PostEphemeralContext(ctx, channelID, userID, opts...)
		return err
	})
	if err != nil {
		return fmt.Errorf("slack chat.postEphemeral to %s in %s: %w", userID, channelID, err)
	}
	return nil
}

// Permalink returns the link to the message at ts.
func (c *Client) Permalink(ctx context.Context, channelID, ts string) (string, error) {
	var link string
	err := c.do(ctx, "chat.getPermalink", func(ctx context.Context) (err error) {
		link, err = c.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channelID, Ts: ts})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("slack chat.getPermalink %s/%s: %w", channelID, ts, err)
	}
	return link, nil
}

// FindByMetadata looks for a top-level message in the channel carrying
// metadata of eventType whose event_payload[key] equals value (numbers are
// compared in their shortest decimal form), posted at or after since minus a
// few minutes of clock skew, and returns its ts. It is how a retried post
// learns that an earlier attempt was accepted before the process died or the
// answer was lost: search from the first attempt's time, and post only when
// nothing is found. A zero since searches the whole history.
//
// Thread replies are not in conversations.history: use FindReplyByMetadata.
func (c *Client) FindByMetadata(ctx context.Context, channelID, eventType, key, value string, since time.Time) (ts string, found bool, err error) {
	params := &slack.GetConversationHistoryParameters{
		ChannelID: channelID, IncludeAllMetadata: true, Limit: historyPageSize,
	}
	if !since.IsZero() {
		params.Oldest = FormatTS(since.Add(-metadataSkew))
	}
	for range maxHistoryPages {
		var res *slack.GetConversationHistoryResponse
		err := c.do(ctx, "conversations.history", func(ctx context.Context) (err error) {
			res, err = c.api.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return "", false, fmt.Errorf("slack conversations.history %s: %w", channelID, err)
		}
		for _, m := range res.Messages {
			if matches(m, eventType, key, value) {
				return m.Timestamp, true, nil
			}
		}
		if !res.HasMore || res.ResponseMetaData.NextCursor == "" {
			return "", false, nil
		}
		params.Cursor = res.ResponseMetaData.NextCursor
	}
	return "", false, fmt.Errorf("slack conversations.history %s: %w", channelID, ErrHistoryTooLong)
}

// FindReplyByMetadata is FindByMetadata for the replies in threadTS's
// thread (the parent itself is never a match, so a reply may reuse the
// parent's key and value).
func (c *Client) FindReplyByMetadata(ctx context.Context, channelID, threadTS, eventType, key, value string) (ts string, found bool, err error) {
	params := &slack.GetConversationRepliesParameters{
		ChannelID: channelID, Timestamp: threadTS, IncludeAllMetadata: true, Limit: historyPageSize,
	}
	for range maxHistoryPages {
		var (
			msgs    []slack.Message
			hasMore bool
			next    string
		)
		err := c.do(ctx, "conversations.replies", func(ctx context.Context) (err error) {
			msgs, hasMore, next, err = c.api.GetConversationRepliesContext(ctx, params)
			return err
		})
		if err != nil {
			return "", false, fmt.Errorf("slack conversations.replies %s/%s: %w", channelID, threadTS, err)
		}
		for _, m := range msgs {
			if m.Timestamp != threadTS && matches(m, eventType, key, value) {
				return m.Timestamp, true, nil
			}
		}
		if !hasMore || next == "" {
			return "", false, nil
		}
		params.Cursor = next
	}
	return "", false, fmt.Errorf("slack conversations.replies %s/%s: %w", channelID, threadTS, ErrHistoryTooLong)
}

func matches(m slack.Message, eventType, key, value string) bool {
	if m.Metadata.EventType != eventType {
		return false
	}
	switch v := m.Metadata.EventPayload[key].(type) {
	case string:
		return v == value
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64) == value
	case bool:
		return strconv.FormatBool(v) == value
	}
	return false
}

// FormatTS renders t as a Slack timestamp ("1700000000.123456"), the form
// conversations.history takes for oldest and latest.
func FormatTS(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}

// ParseTS reads a Slack message timestamp ("1700000000.123456", or whole
// seconds) into a time with microsecond precision, e.g. to know when Slack
// says a message was posted.
func ParseTS(ts string) (time.Time, error) {
	sec, frac, dot := strings.Cut(ts, ".")
	if !digits(sec) || len(sec) > 12 || (dot && !digits(frac)) || len(frac) > 6 {
		return time.Time{}, fmt.Errorf("parse slack ts %q: not sec.usec", ts)
	}
	s, _ := strconv.ParseInt(sec, 10, 64)
	var us int64
	if frac != "" {
		us, _ = strconv.ParseInt((frac + "000000")[:6], 10, 64)
	}
	return time.UnixMicro(s*1_000_000 + us).UTC(), nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// PublishHome publishes view as userID's App Home tab.
func (c *Client) PublishHome(ctx context.Context, userID string, view slack.HomeTabViewRequest) error {
	if view.Type == "" {
		view.Type = slack.VTHomeTab
	}
	err := c.do(ctx, "views.publish", func(ctx context.Context) error {
		_, err := c.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: userID, View: view})
		return err
	})
	if err != nil {
		return fmt.Errorf("slack views.publish for %s: %w", userID, err)
	}
	return nil
}

// PostWebhook posts msg to an interaction's or command's response_url
// (usable 5 times within 30 minutes). A 404 means the URL expired or was
// used up, and is classified permanent.
func (c *Client) PostWebhook(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	err := c.do(ctx, "response_url", func(ctx context.Context) error {
		return slack.PostWebhookCustomHTTPContext(ctx, responseURL, c.http, msg)
	})
	if err != nil {
		// The URL is a bearer credential for the reply: keep it out of errors.
		return fmt.Errorf("slack response_url post: %w", redactURL(err))
	}
	return nil
}

// redactURL keeps the response_url out of err's message (a *url.Error
// names it) while keeping the error chain for Classify.
func redactURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) || ue.URL == "" {
		return err
	}
	return &redactedError{err: err, msg: strings.ReplaceAll(err.Error(), ue.URL, "<response_url>")}
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
