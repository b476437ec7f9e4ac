// Package closereason says why an alert was closed: the not-a-fit reasons
// a rep picks (stored codes, the order the picker offers them, the words
// people read) and the codes pqlbot closes alerts with itself. The codes
// are stored and reported on, so they are domain data: alerting validates
// a rep's pick against them, the store counts them and slackui shows their
// labels, none of them owning the list.
package closereason

// Reason is a stored close reason code.
type Reason string

// Not-a-fit reasons, picked by a rep.
const (
	TooSmall         Reason = "too_small"
	StudentPersonal  Reason = "student_personal"
	Competitor       Reason = "competitor"
	ExistingCustomer Reason = "existing_customer"
	Other            Reason = "other"
)

// Reasons pqlbot closes an alert with itself; a rep cannot pick them.
const (
	// Moved: a hand-raise moved the alert to the hand_raiser route; the
	// new alert carries on.
	Moved Reason = "moved"
	// DeliveryFailed: Slack refused the post for good.
	DeliveryFailed Reason = "delivery_failed"
)

var labels = map[Reason]string{
	TooSmall:         "Too small",
	StudentPersonal:  "Student or personal",
	Competitor:       "Competitor",
	ExistingCustomer: "Existing customer",
	Other:            "Other",
}

// NotFit returns every not-a-fit reason in the order the picker shows them.
func NotFit() []Reason {
	return []Reason{TooSmall, StudentPersonal, Competitor, ExistingCustomer, Other}
}

// Label returns the human label of a reason, or the raw code for one this
// build does not know (older rows may carry such codes).
func (r Reason) Label() string {
	if l, ok := labels[r]; ok {
		return l
	}
	return string(r)
}

// ParseNotFit validates a not-a-fit reason coming back from the picker: a
// code pqlbot uses itself (moved) is not a rep's choice.
func ParseNotFit(s string) (Reason, bool) {
	r := Reason(s)
	_, ok := labels[r]
	return r, ok
}
