package slackui

import (
	"strconv"
	"strings"
	"time"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/sla"
)

// Status is where an alert stands, as a status line shows it. Callers fill
// it from whatever alert row they hold (the alert message, /pql score,
// mine, the App Home); zero times mean "not yet".
type Status struct {
	State State
	// Channel is the route's channel; shown while the post is queued.
	Channel  string
	PostedAt time.Time
	DueAt    time.Time
	// Hours are the model's business hours (nil: wall clock): time to claim
	// and to contact are counted in them, like the deadline.
	Hours       *sla.BusinessHours
	ClaimedBy   string // Slack user id
	ClaimedAt   time.Time
	ContactedBy string
	ContactedAt time.Time
	ClosedBy    string
	ClosedAt    time.Time
	// CloseReason is a not-a-fit reason, closereason.Moved or
	// closereason.DeliveryFailed.
	CloseReason closereason.Reason
	// BreachedAt is when the sweeper recorded the breach; an open or
	// claimed alert past DueAt shows as breached before that too.
	BreachedAt time.Time
	// NudgedAt is when the sla_warn_at reminder went out.
	NudgedAt time.Time
	// MovedTo is the channel of the alert this one moved to (closereason.Moved),
	// MovedLink its message permalink when known.
	MovedTo   string
	MovedLink string
}

func (s Status) active() bool {
	return s.State == "" || s.State == StateOpen || s.State == StateClaimed
}

// Overdue reports whether an open or claimed alert is past its deadline
// without a first touch, recorded or evident from now.
func (s Status) Overdue(now time.Time) bool {
	return s.active() && (!s.BreachedAt.IsZero() || (!s.DueAt.IsZero() && now.After(s.DueAt)))
}

// StatusLine is an alert's state in one mrkdwn line, the first thing its
// message shows: open and due (relative and absolute), claimed by whom and
// when, breached how long ago, contacted within or over the SLA, closed and
// why, moved and where. Relative times are Slack {ago} dates, so they stay
// true while the message sits unchanged; the fallbacks are as of now.
func StatusLine(s Status, now time.Time) string { return statusLine(s, now, true) }

// statusLine is StatusLine, leaving out a breach's due time when withDue is
// false (a grouped escalation says it once for all its alerts).
func statusLine(s Status, now time.Time, withDue bool) string {
	switch s.State {
	case StateContacted:
		l := "✅ *Contacted* by " + mention(s.ContactedBy)
		if !s.PostedAt.IsZero() && !s.ContactedAt.IsZero() {
			l += " " + sla.FormatDuration(sla.Elapsed(s.PostedAt, s.ContactedAt, s.Hours)) + " after the alert"
		}
		if !s.DueAt.IsZero() && s.ContactedAt.After(s.DueAt) {
			return l + " — *" + sla.FormatDuration(sla.Elapsed(s.DueAt, s.ContactedAt, s.Hours)) + " over SLA*"
		}
		return l + " — within SLA"
	case StateClosedNotFit:
		return closedLine(s)
	}
	if s.PostedAt.IsZero() {
		return "🕓 *Queued* for " + channelRef(s.Channel) + ", not posted yet"
	}
	due := ""
	if !s.DueAt.IsZero() && withDue {
		due = " (due " + dueDate(s.DueAt) + ")"
	}
	if s.Overdue(now) {
		at := s.DueAt
		if at.IsZero() {
			at = s.BreachedAt
		}
		l := "🚨 *SLA breached* " + agoDate(at, now)
		if s.State == StateClaimed {
			return l + " · claimed by " + mention(s.ClaimedBy) + ", not contacted yet" + due
		}
		return l + " · nobody has claimed it" + due
	}
	var l string
	if s.State == StateClaimed {
		l = "🙋 *Claimed* by " + mention(s.ClaimedBy)
		if !s.ClaimedAt.IsZero() {
			l += " " + sla.FormatDuration(sla.Elapsed(s.PostedAt, s.ClaimedAt, s.Hours)) + " after the alert"
		}
		l += " · contact due"
	} else {
		l = "🟢 *Open* · due"
	}
	if s.DueAt.IsZero() {
		return l + " —"
	}
	l += " " + agoDate(s.DueAt, now) + " — " + dueDate(s.DueAt)
	if s.State != StateClaimed && !s.NudgedAt.IsZero() {
		l += " · reminder sent"
	}
	return l
}

func closedLine(s Status) string {
	switch s.CloseReason {
	case closereason.Moved:
		to := "the hand-raiser route"
		if s.MovedTo != "" {
			to = channelRef(s.MovedTo)
		}
		l := "➡️ *Moved* to " + to + " after a hand-raise; this alert's clock stopped"
		if safeURL(s.MovedLink) {
			l += " · " + link(s.MovedLink, "open the new alert ↗")
		}
		return l
	case closereason.DeliveryFailed:
		return "⚠️ *Not delivered*: Slack refused the post; the alert is closed"
	}
	l := "🚫 *Closed* as not a fit"
	if s.ClosedBy != "" && s.ClosedBy != "pqlbot" {
		l += " by " + mention(s.ClosedBy)
	}
	if s.CloseReason != "" {
		l += ": " + escClip(strings.ToLower(s.CloseReason.Label()), maxLabelLen)
	}
	return l
}

// agoDate renders t relative to the reader's now ("in 3 hours", "2 hours
// ago"), with the relative time as of now as the fallback.
func agoDate(t, now time.Time) string {
	d := t.Sub(now)
	fb := "in " + sla.FormatDuration(d.Round(time.Minute))
	if d < 0 {
		fb = sla.FormatDuration((-d).Round(time.Minute)) + " ago"
	}
	return "<!date^" + strconv.FormatInt(t.Unix(), 10) + "^{ago}|" + fb + ">"
}

// StatusText is the status in a few plain words for fallback text: "open,
// due 1:00 PM EST", "claimed by <@U1>", "SLA breached", "contacted",
// "closed (too small)", "moved to #ae-hand-raisers". loc is the time zone
// of the absolute time (the business hours' zone, else UTC).
func StatusText(s Status, now time.Time, loc *time.Location) string {
	switch s.State {
	case StateContacted:
		return "contacted"
	case StateClosedNotFit:
		switch s.CloseReason {
		case closereason.Moved:
			return "moved to " + channelRef(s.MovedTo)
		case closereason.DeliveryFailed:
			return "not delivered"
		}
		return "closed as not a fit"
	}
	if s.Overdue(now) {
		return "SLA breached"
	}
	due := ""
	if !s.DueAt.IsZero() {
		due = "due " + clockTime(s.DueAt, now, loc)
	}
	if s.State == StateClaimed {
		return strings.TrimSuffix("claimed by "+mention(s.ClaimedBy)+" · "+due, " · ")
	}
	return due
}

// clockTime is "1:00 PM EST" (or "Tue 1:00 PM EST" when not today).
func clockTime(t, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	lt, ln := t.In(loc), now.In(loc)
	f := "3:04 PM MST"
	if lt.YearDay() != ln.YearDay() || lt.Year() != ln.Year() {
		f = "Mon 3:04 PM MST"
	}
	return lt.Format(f)
}
