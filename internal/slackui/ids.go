package slackui

import "strings"

// Action ids of the interactive elements. The interactions handler switches
// on these; the button value is always the alert id.
const (
	ActionClaim        = "pql_claim"
	ActionNotFit       = "pql_not_fit"
	ActionContacted    = "pql_contacted"
	ActionRelease      = "pql_release"
	ActionNotFitReason = "pql_not_fit_reason"
	// ActionAssign is the App Home's "Assign to…" user picker on a
	// breach: a claim on behalf of the picked rep.
	ActionAssign = "pql_assign"
)

// Block id prefixes. Block ids are "<prefix>:<alertID>". Every actions block
// carries one, because slack-go parses a block action without block_id as an
// attachment action.
const (
	BlockActions      = "pql_actions"
	BlockNotFitReason = "pql_not_fit_reason"
	BlockAssign       = "pql_assign"
)

// BlockID joins a block id prefix and an alert id.
func BlockID(prefix, alertID string) string {
	return prefix + ":" + alertID
}

// ParseBlockID splits a block id made by BlockID. ok is false when the id
// has no prefix or no alert id.
func ParseBlockID(blockID string) (prefix, alertID string, ok bool) {
	prefix, alertID, found := strings.Cut(blockID, ":")
	if !found || prefix == "" || alertID == "" {
		return "", "", false
	}
	return prefix, alertID, true
}

// State is where an alert is in its lifecycle, as far as rendering cares.
// A breach is a separate flag (AlertView.Breached) because an open or a
// claimed alert can be breached.
type State string

// Alert states.
const (
	StateOpen         State = "open"
	StateClaimed      State = "claimed"
	StateContacted    State = "contacted"
	StateClosedNotFit State = "closed_not_fit"
)

// Reason is why a rep closed an alert as not a fit. The codes are stored and
// reported on; the labels are what people see.
type Reason string

// Not-a-fit reasons.
const (
	ReasonTooSmall         Reason = "too_small"
	ReasonStudentPersonal  Reason = "student_personal"
	ReasonCompetitor       Reason = "competitor"
	ReasonExistingCustomer Reason = "existing_customer"
	ReasonOther            Reason = "other"
)

var reasonLabels = map[Reason]string{
	ReasonTooSmall:         "Too small",
	ReasonStudentPersonal:  "Student or personal",
	ReasonCompetitor:       "Competitor",
	ReasonExistingCustomer: "Existing customer",
	ReasonOther:            "Other",
}

// Reasons returns every not-a-fit reason in the order the picker shows them.
func Reasons() []Reason {
	return []Reason{ReasonTooSmall, ReasonStudentPersonal, ReasonCompetitor, ReasonExistingCustomer, ReasonOther}
}

// Label returns the human label of a reason, or the raw code for an unknown
// one (older rows may carry codes this build does not know).
func (r Reason) Label() string {
	if l, ok := reasonLabels[r]; ok {
		return l
	}
	return string(r)
}

// ParseReason validates a reason code coming back from a select menu.
func ParseReason(s string) (Reason, bool) {
	r := Reason(s)
	_, ok := reasonLabels[r]
	return r, ok
}
