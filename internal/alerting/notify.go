package alerting

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
)

// Notifier delivers an alert's messages where reps see them. The
// dispatcher decides what is sent, when, and whether it already was (the
// outbox, leases, attempt fencing); a Notifier only renders and sends one
// message. slackdelivery.Slack renders Block Kit and calls the Slack Web
// API; slackdelivery.Log, the dry run, renders the same and writes it to
// the log.
type Notifier interface {
	// Send delivers m: a new message, a reply in a thread (m.Thread) or an
	// edit in place (m.Edit), and says where it is. When m.Retry is set an
	// earlier attempt may have been delivered without this process learning
	// of it: the notifier looks for that message (by m.Alert's id for an
	// alert post, by m.Key otherwise) and returns it, Found, instead of
	// sending again.
	Send(ctx context.Context, m Message) (Receipt, error)
	// NextAttempt is the retry policy: whether a call that failed with err
	// on attempt may succeed later, how long to wait first, and a short
	// reason (RateLimited for 429s). Outages and rate limits retry without
	// bound: an alert is delayed, never dropped.
	NextAttempt(err error, attempt int) (retry bool, wait time.Duration, reason string)
}

// MessageKind says which of an alert's messages a Message is.
type MessageKind int

// Message kinds.
const (
	// AlertMessage is the alert itself, posted once and edited to its
	// current state.
	AlertMessage MessageKind = iota + 1
	// ThreadNote is a reply in the alert's thread (Message.Note).
	ThreadNote
	// EscalationMessage is the post to the escalation channel listing the
	// breached alerts (Message.Escalated), edited as each resolves.
	EscalationMessage
)

// Message is one message to deliver, as domain data: the notifier renders
// it.
type Message struct {
	Kind MessageKind
	// Channel is where a new message goes, as configured ("#name" or an
	// id).
	Channel string
	// Edit, when set, is the message to edit in place instead.
	Edit *Receipt
	// Thread, when set, is the message a ThreadNote replies to.
	Thread *Receipt
	// Alert is the alert the message is about (AlertMessage, ThreadNote);
	// People are who to contact at its account, as of Now.
	Alert  *Alert
	People []people.Person
	// Note is what a ThreadNote says. A note queued by an older build
	// carries its rendering instead (Text, Blocks: Block Kit JSON).
	Note   *Note
	Text   string
	Blocks json.RawMessage
	// Broadcast shows a thread reply in the channel too (reply_broadcast).
	Broadcast bool
	// Escalated are the breached alerts an EscalationMessage lists;
	// EscalatedPeople[i], when present, are who to contact at the account
	// of Escalated[i] (loaded for the alerts still waiting).
	Escalated       []*Alert
	EscalatedPeople [][]people.Person
	// Key identifies a ThreadNote or EscalationMessage across attempts
	// (its outbox job); Retry asks the notifier to look for an earlier
	// delivery, sent no earlier than Since, before sending.
	Key   string
	Retry bool
	Since time.Time
	// Now is the time the message is rendered at.
	Now time.Time
}

// Receipt is where a message is: its channel id and Slack ts. Found says a
// retry found the message an earlier attempt delivered; At is then when it
// was posted.
type Receipt struct {
	ChannelID string
	TS        string
	Found     bool
	At        time.Time
}

// NoteKind says what a thread note is about.
type NoteKind string

// Note kinds.
const (
	// NoteChange: the account changed materially under an active alert
	// (an Upgrade or Rescore decision).
	NoteChange NoteKind = "change"
	// NoteNudge: sla_warn_at passed and nobody has the alert.
	NoteNudge NoteKind = "nudge"
)

// Note is a reply in an alert's thread. It is queued in the outbox as
// domain data and rendered when it is delivered, so the store and the
// sweeper never hold Slack markup.
type Note struct {
	Kind NoteKind `json:"kind"`
	// At is when the note was decided; it is rendered as of then, so every
	// attempt says the same.
	At time.Time `json:"at"`
	// Broadcast shows the reply in the channel too: a nudge must reach
	// people who do not follow the thread.
	Broadcast bool `json:"broadcast,omitempty"`
	// The change (NoteChange): the tier and score before and after, the
	// score at alert, whether it is a Rescore (no move up), the hand-raise
	// event when the change is one, and the rep who held the alert then
	// (the note mentions them).
	FromTier   string `json:"from_tier,omitempty"`
	ToTier     string `json:"to_tier,omitempty"`
	FromScore  int    `json:"from_score,omitempty"`
	ToScore    int    `json:"to_score,omitempty"`
	AlertScore int    `json:"alert_score,omitempty"`
	Rescore    bool   `json:"rescore,omitempty"`
	HandRaise  string `json:"hand_raise,omitempty"`
	Claimer    string `json:"claimer,omitempty"`
}

// ChangeNote is the thread note for an Upgrade or Rescore decision made at
// now. It names the claimer, if there is one: the rep who owns the alert
// must hear that it changed.
func ChangeNote(d Decision, now time.Time) *Note {
	n := &Note{Kind: NoteChange, At: now, FromTier: d.FromTier, ToTier: d.Alert.Tier, FromScore: d.FromScore, ToScore: d.Alert.Score,
		AlertScore: d.Alert.AlertScore, Rescore: d.Action == Rescore}
	if d.Alert.State == StateClaimed {
		n.Claimer = d.Alert.ClaimedBy
	}
	if hr := d.Alert.Explanation.HandRaise; hr != nil && d.Alert.Tier == model.TierHandRaiser {
		n.HandRaise = hr.Event
	}
	return n
}

// NudgeNote is the reminder at sla_warn_at, taken at now.
func NudgeNote(now time.Time) *Note {
	return &Note{Kind: NoteNudge, At: now, Broadcast: true}
}
