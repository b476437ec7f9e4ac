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
