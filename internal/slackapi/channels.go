package slackapi

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// channelIDPattern matches conversation ids: public (C), private (G, and C
// for newer ones) and direct (D).
var channelIDPattern = regexp.MustCompile(`^[CGD][A-Z0-9]{8,}$`)

// UnknownChannelError is returned by ResolveChannel for a name that is not a
// channel the bot can see: it does not exist, is archived, or is private and
// the bot has not been invited. Classify retries it after OperatorWait.
type UnknownChannelError struct {
	Name string
}

// Error names the channel and what an operator can do about it.
func (e *UnknownChannelError) Error() string {
	return fmt.Sprintf("slack channel #%s not found (create it, or invite the bot if it is private)", e.Name)
}

// ResolveChannel turns a channel reference from the model into a channel id.
// Ids ("C0123ABCD", "G...") are returned as they are, without a call; names
// ("#sdr-pql" or "sdr-pql") are looked up in a cache of public and private
// channels (archived ones excluded) that is refreshed with
// conversations.list after DefaultChannelCacheTTL, or sooner when a name is
// missing (at most every 30 s). If a refresh fails, a name cached earlier is
// still answered. An unknown name is an *UnknownChannelError.
func (c *Client) ResolveChannel(ctx context.Context, nameOrID string) (string, error) {
	ref := strings.TrimSpace(nameOrID)
	name, hashed := strings.CutPrefix(ref, "#")
	if !hashed && channelIDPattern.MatchString(ref) {
		return ref, nil
	}
	name = strings.ToLower(name)
	if name == "" {
		return "", &UnknownChannelError{Name: nameOrID}
	}

	id, fresh, listedAt := c.lookupChannel(name)
	if id != "" && fresh {
		return id, nil
	}
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	// Another caller may have refreshed while this one waited.
	id, fresh, at := c.lookupChannel(name)
	if !at.Equal(listedAt) && (id != "" || fresh) {
		return c.answer(name, id)
	}
	if id == "" && fresh && c.now().Sub(at) < missRefreshInterval {
		return "", &UnknownChannelError{Name: name}
	}
	if err := c.refreshChannels(ctx); err != nil {
		if id != "" {
			return id, nil // stale but known: better than failing the post
		}
		return "", fmt.Errorf("resolve channel #%s: %w", name, err)
	}
	id, _, _ = c.lookupChannel(name)
	return c.answer(name, id)
}

func (c *Client) answer(name, id string) (string, error) {
	if id == "" {
		return "", &UnknownChannelError{Name: name}
	}
	return id, nil
}

// lookupChannel returns the cached id for name (empty if not cached),
// whether the cache is within its TTL, and when it was listed.
func (c *Client) lookupChannel(name string) (id string, fresh bool, listedAt time.Time) {
	c.chanMu.Lock()
	defer c.chanMu.Unlock()
	if c.channelsAt.IsZero() {
		return "", false, time.Time{}
	}
	return c.channels[name], c.now().Sub(c.channelsAt) < c.channelTTL, c.channelsAt
}

// refreshChannels lists every channel the bot can see and replaces the cache.
func (c *Client) refreshChannels(ctx context.Context) error {
	names := map[string]string{}
	params := &slack.GetConversationsParameters{
		Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: historyPageSize,
	}
	for {
		var (
			chans []slack.Channel
			next  string
		)
		err := c.do(ctx, "conversations.list", func(ctx context.Context) (err error) {
			chans, next, err = c.api.GetConversationsContext(ctx, params)
			return err
		})
		if err != nil {
			return fmt.Errorf("slack conversations.list: %w", err)
		}
		for _, ch := range chans {
			names[strings.ToLower(ch.Name)] = ch.ID
		}
		if next == "" {
			break
		}
		params.Cursor = next
	}
	c.chanMu.Lock()
	defer c.chanMu.Unlock()
	c.channels, c.channelsAt = names, c.now()
	return nil
}

// UserName returns the name to show for a user: the display name, else the
// real name, else the handle. Names are cached for an hour.
func (c *Client) UserName(ctx context.Context, userID string) (string, error) {
	c.userMu.Lock()
	cu, ok := c.users[userID]
	c.userMu.Unlock()
	if ok && c.now().Sub(cu.at) < userCacheTTL {
		return cu.name, nil
	}
	var u *slack.User
	err := c.do(ctx, "users.info", func(ctx context.Context) (err error) {
		u, err = c.api.GetUserInfoContext(ctx, userID)
		return err
	})
	if err != nil {
		if ok {
			return cu.name, nil
		}
		return "", fmt.Errorf("slack users.info %s: %w", userID, err)
	}
	name := u.Profile.DisplayName
	if name == "" {
		name = u.RealName
	}
	if name == "" {
		name = u.Name
	}
	c.userMu.Lock()
	c.users[userID] = cachedUser{name: name, at: c.now()}
	c.userMu.Unlock()
	return name, nil
}
