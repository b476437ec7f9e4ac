// Package people says who a rep should contact at an account: the
// hand-raiser first, then the most active users of the recency window, each
// with what they last did. It is domain data with no Slack types, shared by
// alerts, /pql lookups and the App Home; the store fills it (Store.People)
// and slackui renders it (slackui.PeopleLines, slackui.PersonSummary).
package people

import (
	"slices"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

// Max is how many people an alert or lookup shows: a rep calls one person,
// and three leave a fallback when the first does not answer.
const Max = 3

// Kinds of action a Person last took.
const (
	ActionTrack  = "track" // a track event ("Sales Contact Requested")
	ActionPage   = "page"  // a page view ("Pricing")
	ActionScreen = "screen"
)

// Person is one person at an account, as a rep sees them. UserID is always
// set; Name, Title and Email come from identify traits and may be empty.
type Person struct {
	UserID string `json:"user_id"`
	Name   string `json:"name,omitempty"`
	Title  string `json:"title,omitempty"`
	Email  string `json:"email,omitempty"`
	// HandRaiser is set on the person who sent the account's latest
	// hand-raise in the window; Action is then that event.
	HandRaiser bool `json:"hand_raiser,omitempty"`
	// Action is the last notable thing the person did in the window (an
	// event the model scores, else their latest event, else their latest
	// page view): the event or page name, ActionKind saying which.
	Action     string    `json:"action,omitempty"`
	ActionKind string    `json:"action_kind,omitempty"`
	ActionAt   time.Time `json:"action_at,omitzero"`
	// Events is how many events and page views the person sent in the
	// window; it orders the people after the hand-raiser.
	Events int `json:"events"`
}

// Query asks for an account's people as of Now over the WindowDays UTC days
// ending with Now's day (the scorer's windows).
type Query struct {
	AccountID  string
	Now        time.Time
	WindowDays int
	// HandRaisers are the model's hand_raisers events.
	HandRaisers []string
	// Notable are the events and pages the model scores, preferred over
	// any other when saying what a person last did.
	Notable []string
	Limit   int
}

// From is the first instant of the query's window: UTC midnight of the
// window's first day.
func (q Query) From() time.Time {
	days := max(q.WindowDays, 1)
	d := q.Now.UTC().Truncate(24 * time.Hour)
	return d.AddDate(0, 0, -(days - 1))
}

// For is the query the model implies for accountID at now: its recency
// window, hand-raisers and scored events, up to Max people.
func For(m *model.Model, accountID string, now time.Time) Query {
	q := Query{AccountID: accountID, Now: now.UTC(), WindowDays: m.RecencyDays, Limit: Max}
	q.HandRaisers = slices.Clone(m.HandRaisers)
	for _, s := range m.Signals {
		// Any kind that reads a named event or page series scores it.
		if n := s.Rule.Needs().Name; n != "" && !slices.Contains(q.Notable, n) {
			q.Notable = append(q.Notable, n)
		}
	}
	for _, h := range m.HandRaisers {
		if !slices.Contains(q.Notable, h) {
			q.Notable = append(q.Notable, h)
		}
	}
	return q
}

// HandRaiser returns the hand-raiser among ps, or nil.
func HandRaiser(ps []Person) *Person {
	for i := range ps {
		if ps[i].HandRaiser {
			return &ps[i]
		}
	}
	return nil
}
