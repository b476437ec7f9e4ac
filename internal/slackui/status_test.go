package slackui

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/closereason"
)

// statusCases are one alert (posted at posted, due 24 h later) in every
// state a status line shows, rendered at now (2 h after posting) unless the
// case says otherwise.
func statusCases(t *testing.T) []struct {
	name string
	s    Status
	now  time.Time
} {
	due := posted.Add(24 * time.Hour)
	base := Status{State: StateOpen, Channel: "#sdr-pql", PostedAt: posted, DueAt: due}
	with := func(f func(*Status)) Status { s := base; f(&s); return s }
	return []struct {
		name string
		s    Status
		now  time.Time
	}{
		{"queued", with(func(s *Status) { s.PostedAt, s.DueAt = time.Time{}, time.Time{} }), now},
		{"open", base, now},
		{"open reminded", with(func(s *Status) { s.NudgedAt = posted.Add(18 * time.Hour) }), posted.Add(19 * time.Hour)},
		{"claimed", with(func(s *Status) {
			s.State, s.ClaimedBy, s.ClaimedAt = StateClaimed, "U0REP1", posted.Add(25*time.Minute)
		}), now},
		{"breached open", with(func(s *Status) { s.BreachedAt = due }), due.Add(2 * time.Hour)},
		{"breached claimed", with(func(s *Status) {
			s.State, s.ClaimedBy, s.ClaimedAt, s.BreachedAt = StateClaimed, "U0REP1", posted.Add(time.Hour), due
		}), due.Add(30 * time.Minute)},
		{"contacted within", with(func(s *Status) {
			s.State, s.ContactedBy, s.ContactedAt = StateContacted, "U0REP1", posted.Add(3*time.Hour)
		}), now},
		{"contacted over", with(func(s *Status) {
			s.State, s.ContactedBy, s.ContactedAt = StateContacted, "U0REP1", due.Add(90*time.Minute)
		}), due.Add(2 * time.Hour)},
		{"closed not a fit", with(func(s *Status) {
			s.State, s.ClosedBy, s.CloseReason = StateClosedNotFit, "U0REP2", closereason.Competitor
		}), now},
		{"moved", with(func(s *Status) {
			s.State, s.ClosedBy, s.CloseReason, s.MovedTo, s.MovedLink = StateClosedNotFit, "pqlbot", closereason.Moved, "C0HANDRS1", "https://example.slack.com/archives/C0HANDRS1/p1"
		}), now},
		{"not delivered", with(func(s *Status) { s.State, s.CloseReason = StateClosedNotFit, closereason.DeliveryFailed }), now},
	}
}

func TestStatusGolden(t *testing.T) {
	var blocks []slack.Block
	var texts []string
	for _, tc := range statusCases(t) {
		blocks = append(blocks, contextLine(tc.name), section(StatusLine(tc.s, tc.now)))
		texts = append(texts, tc.name+": "+StatusText(tc.s, tc.now, officeHours(t).Loc))
	}
	require.NoError(t, ValidateMessage(blocks))
	goldenReply(t, "status_lines", Reply{Text: strings.Join(texts, "\n"), Blocks: blocks})
}

func TestStatusLine(t *testing.T) {
	cases := map[string]string{}
	for _, tc := range statusCases(t) {
		cases[tc.name] = StatusLine(tc.s, tc.now)
	}
	require.Equal(t, "🟢 *Open* · due <!date^1795528800^{ago}|in 22 h> — <!date^1795528800^{date_short_pretty} {time}|2026-11-24 14:00 UTC>", cases["open"])
	require.Equal(t, "🙋 *Claimed* by <@U0REP1> 25 min after the alert · contact due <!date^1795528800^{ago}|in 22 h> — <!date^1795528800^{date_short_pretty} {time}|2026-11-24 14:00 UTC>", cases["claimed"])
	require.Equal(t, "🚨 *SLA breached* <!date^1795528800^{ago}|2 h ago> · nobody has claimed it (due <!date^1795528800^{date_short_pretty} {time}|2026-11-24 14:00 UTC>)", cases["breached open"])
	require.Equal(t, "✅ *Contacted* by <@U0REP1> 25 h 30 min after the alert — *1 h 30 min over SLA*", cases["contacted over"])
	require.Equal(t, "🚫 *Closed* as not a fit by <@U0REP2>: competitor", cases["closed not a fit"])
	require.Contains(t, cases["moved"], "➡️ *Moved* to <#C0HANDRS1>")

	t.Run("fallback words", func(t *testing.T) {
		ny := officeHours(t).Loc
		s := Status{State: StateOpen, PostedAt: posted, DueAt: posted.Add(4 * time.Hour)}
		require.Equal(t, "due 1:00 PM EST", StatusText(s, posted, ny))
		require.Equal(t, "due Tue 9:00 AM UTC", StatusText(Status{State: StateOpen, PostedAt: posted, DueAt: posted.Add(19 * time.Hour)}, posted, nil))
		s.State, s.ClaimedBy = StateClaimed, "U0REP1"
		require.Equal(t, "claimed by <@U0REP1> · due 1:00 PM EST", StatusText(s, posted, ny))
		require.Equal(t, "SLA breached", StatusText(s, posted.Add(5*time.Hour), ny))
	})
}
