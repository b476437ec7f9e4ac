// Package events decodes and validates Segment HTTP Tracking API payloads and
// normalises them into Messages ready to store. It is pure: the caller
// passes the time the request was received.
//
// A request is either refused whole (not JSON, not the shape of its
// endpoint, over the body limit) or decoded message by message: an invalid
// message becomes a Reject, kept whole with its reason and field, and never
// sinks its valid neighbours (SDKs drop a whole batch on any 4xx).
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits, on decompressed bytes. The batch limit is RudderStack's (4 MB):
// its SDKs flush up to ~3.9 MB and drop what we refuse.
const (
	MaxMessageBytes = 32 * 1024
	MaxBatchBytes   = 4 << 20
	MaxMessageID    = 100
	maxIDLen        = 255
	maxNameLen      = 255
)

// Message types. screen is stored as a page view (mobile SDKs send it);
// alias links previousId to userId.
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeAlias    = "alias"
)

// Reasons a message or request is refused: stable codes, the values of the
// "reason" label of pqlbot_events_rejected_total and of the quarantine.
const (
	ReasonTooLarge     = "too_large"     // message over 32 KB or body over 4 MB
	ReasonMalformed    = "malformed"     // not JSON, or not an object
	ReasonNoIdentity   = "no_identity"   // neither userId nor anonymousId
	ReasonUnknownType  = "unknown_type"  // type missing or not a Segment call
	ReasonBadTimestamp = "bad_timestamp" // timestamp, originalTimestamp or sentAt unreadable
	ReasonBadText      = "bad_text"      // NUL, invalid UTF-8, unpaired surrogate: PostgreSQL refuses it
	ReasonInvalid      = "invalid"       // any other field of the wrong shape
	// ReasonRefused is a message validation let through and PostgreSQL
	// still refused; the store quarantines it under this reason.
	ReasonRefused = "refused_by_database"
)

// MessageReasons lists every reason a single message can be quarantined
// for, so metrics can show a zero before the first one.
var MessageReasons = []string{ReasonTooLarge, ReasonMalformed, ReasonNoIdentity, ReasonUnknownType, ReasonBadTimestamp, ReasonBadText, ReasonInvalid, ReasonRefused}

// Message is one normalised Segment call.
type Message struct {
	Type        string
	MessageID   string
	UserID      string
	AnonymousID string
	// PreviousID is the id an alias call merges into UserID.
	PreviousID string
	// Name is the track event name or the page/screen name.
	Name string
	// GroupID is the account a group call links the user to, or, on other
	// calls, a top-level groupId some SDKs send for attribution.
	GroupID string
	// ContextGroupID is context.groupId: the account a track/page call is
	// attributed to, overriding the top-level groupId and the user's link.
	ContextGroupID string
	Properties     json.RawMessage // JSON object or nil
	Traits         json.RawMessage // JSON object or nil
	Context        json.RawMessage // JSON object or nil, batch context merged in
	// TraitValues is Traits decoded, so the store never decodes it again.
	TraitValues map[string]any
	// Sums holds the top-level numeric properties, which roll-ups sum.
	Sums map[string]float64
	// Timestamp is when it happened, corrected for client clock skew.
	Timestamp  time.Time
	SentAt     time.Time // zero when the client sent none
	ReceivedAt time.Time
	// Raw is the message as sent (decompressed): what the quarantine keeps
	// should the database refuse it.
	Raw json.RawMessage
}

// UserKey is the identity the message is about: userId, else anonymousId.
func (m *Message) UserKey() string {
	if m.UserID != "" {
		return m.UserID
	}
	return m.AnonymousID
}

// TraitMap is the traits as a map: TraitValues when the decoder filled it,
// else Traits decoded now (a Message built in code rather than decoded).
func (m *Message) TraitMap() map[string]any {
	if m.TraitValues == nil && len(m.Traits) > 0 {
		_ = json.Unmarshal(m.Traits, &m.TraitValues)
	}
	return m.TraitValues
}

// Kind is the roll-up kind: "track" or "page", or "" when the message is not
// product activity.
func (m *Message) Kind() string {
	switch m.Type {
	case TypeTrack:
		return "track"
	case TypePage, TypeScreen:
		return "page"
	}
	return ""
}

// Error is a refused request or message: the HTTP status, a stable reason,
// the field at fault and a message naming it.
type Error struct {
	Status int
	Reason string
	Field  string
	Msg    string
	cause  error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap gives the read error behind a body that could not be read.
func (e *Error) Unwrap() error { return e.cause }

func bad(reason, field, format string, args ...any) *Error {
	return &Error{Status: 400, Reason: reason, Field: field, Msg: field + ": " + fmt.Sprintf(format, args...)}
}

// Reject is an invalid message set aside: kept whole, with why.
type Reject struct {
	// Index is the message's position in its batch (0 for a single call).
	Index int
	// Raw is the message exactly as sent (decompressed), possibly text
	// PostgreSQL cannot hold as text: store it as bytes.
	Raw []byte
	Err *Error
}

// Payload is a decoded request: its valid messages, the invalid ones set
// aside, and the body writeKey, if any.
type Payload struct {
	WriteKey string
	Messages []Message
	Rejects  []Reject
}

type rawMessage struct {
	Type              *string         `json:"type"`
	MessageID         json.RawMessage `json:"messageId"`
	UserID            json.RawMessage `json:"userId"`
	AnonymousID       json.RawMessage `json:"anonymousId"`
	PreviousID        json.RawMessage `json:"previousId"`
	Event             json.RawMessage `json:"event"`
	Name              json.RawMessage `json:"name"`
	GroupID           json.RawMessage `json:"groupId"`
	Properties        json.RawMessage `json:"properties"`
	Traits            json.RawMessage `json:"traits"`
	Context           json.RawMessage `json:"context"`
	Timestamp         json.RawMessage `json:"timestamp"`
	OriginalTimestamp json.RawMessage `json:"originalTimestamp"`
	SentAt            json.RawMessage `json:"sentAt"`
	WriteKey          json.RawMessage `json:"writeKey"`
}

type rawBatch struct {
	Batch    []json.RawMessage `json:"batch"`
	SentAt   json.RawMessage   `json:"sentAt"`
	Context  json.RawMessage   `json:"context"`
	WriteKey json.RawMessage   `json:"writeKey"`
}

// DecodeBatch decodes a /v1/batch body. The envelope must be right or the
// whole request is refused; each message is then valid (Messages) or set
// aside (Rejects) on its own.
func DecodeBatch(body []byte, receivedAt time.Time) (*Payload, error) {
	if len(body) > MaxBatchBytes {
		return nil, &Error{Status: 413, Reason: ReasonTooLarge, Field: "batch", Msg: fmt.Sprintf("batch: %d bytes is over the 4 MB limit", len(body))}
	}
	var rb rawBatch
	if err := strictObject(body, &rb); err != nil {
		return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "body", Msg: "body: " + err.Error()}
	}
	if rb.Batch == nil {
		return nil, bad(ReasonInvalid, "batch", "required (an array of messages)")
	}
	if len(rb.Batch) == 0 {
		return nil, bad(ReasonInvalid, "batch", "must hold at least one message")
	}
	wk, err := optString(rb.WriteKey, "writeKey")
	if err != nil {
		return nil, err
	}
	sentAt, err := optTime(rb.SentAt, "sentAt")
	if err != nil {
		return nil, err
	}
	// A batch-level context is what analytics-node-style SDKs factor out of
	// their messages: it merges into each, the message's own keys winning.
	bctx, err := optObject(rb.Context, "context")
	if err != nil {
		return nil, err
	}
	var batchCtx map[string]json.RawMessage
	if len(bctx) > 0 {
		if err := json.Unmarshal(bctx, &batchCtx); err != nil {
			return nil, bad(ReasonInvalid, "context", "malformed JSON")
		}
	}
	p := &Payload{WriteKey: wk, Messages: make([]Message, 0, len(rb.Batch))}
	for i, raw := range rb.Batch {
		if len(raw) > MaxMessageBytes {
			p.Rejects = append(p.Rejects, Reject{Index: i, Raw: raw, Err: &Error{Status: 413, Reason: ReasonTooLarge, Field: "message",
				Msg: fmt.Sprintf("batch[%d]: %d bytes is over the 32 KB message limit", i, len(raw))}})
			continue
		}
		m, _, err := decodeOne(raw, "", sentAt, batchCtx, receivedAt)
		if err != nil {
			e := *err
			e.Msg = fmt.Sprintf("batch[%d].%s", i, e.Msg)
			p.Rejects = append(p.Rejects, Reject{Index: i, Raw: raw, Err: &e})
			continue
		}
		p.Messages = append(p.Messages, m)
	}
	return p, nil
}

// DecodeSingle decodes a /v1/{track,identify,...} body; typ is the
// endpoint's type and wins over a missing type field. A body that is not a
// JSON object is refused whole (nil Payload). An invalid message comes back
// both as the error (the request's answer) and as the Payload's Reject (to
// quarantine).
func DecodeSingle(typ string, body []byte, receivedAt time.Time) (*Payload, error) {
	if len(body) > MaxMessageBytes {
		if err := strictObject(body, &struct{}{}); err != nil {
			return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "body", Msg: "body: " + err.Error()}
		}
		e := &Error{Status: 413, Reason: ReasonTooLarge, Field: "message", Msg: fmt.Sprintf("message: %d bytes is over the 32 KB limit", len(body))}
		return &Payload{WriteKey: PeekWriteKey(body), Rejects: []Reject{{Raw: body, Err: e}}}, e
	}
	var r rawMessage
	if err := strictObject(body, &r); err != nil {
		return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "body", Msg: "body: " + err.Error()}
	}
	m, wk, derr := decodeRaw(&r, body, typ, time.Time{}, nil, receivedAt)
	if derr != nil {
		return &Payload{WriteKey: wk, Rejects: []Reject{{Raw: body, Err: derr}}}, derr
	}
	return &Payload{WriteKey: wk, Messages: []Message{m}}, nil
}

// PeekWriteKey finds the body writeKey without validating anything else, so
// an unauthenticated request learns nothing about what else is wrong.
func PeekWriteKey(body []byte) string {
	var wk struct {
		WriteKey any `json:"writeKey"`
	}
	if json.Unmarshal(body, &wk) != nil {
		return ""
	}
	s, _ := wk.WriteKey.(string)
	return s
}

// decodeOne decodes one message of a batch: the outer decode has already
// proved raw is well-formed JSON, so this is its only decode.
func decodeOne(raw []byte, endpointType string, batchSentAt time.Time, batchCtx map[string]json.RawMessage, receivedAt time.Time) (Message, string, *Error) {
	var r rawMessage
	if len(raw) == 0 || raw[0] != '{' {
		return Message{}, "", &Error{Status: 400, Reason: ReasonMalformed, Field: "message", Msg: "message: must be a JSON object"}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return Message{}, "", &Error{Status: 400, Reason: ReasonInvalid, Field: "message", Msg: "message: " + jsonErr(err)}
	}
	return decodeRaw(&r, raw, endpointType, batchSentAt, batchCtx, receivedAt)
}

func decodeRaw(r *rawMessage, raw []byte, endpointType string, batchSentAt time.Time, batchCtx map[string]json.RawMessage, receivedAt time.Time) (Message, string, *Error) {
	m := Message{Raw: raw, ReceivedAt: receivedAt.UTC()}
	wk, err := optString(r.WriteKey, "writeKey")
	if err != nil {
		return m, "", err
	}
	switch {
	case r.Type != nil:
		m.Type = *r.Type
	case endpointType != "":
		m.Type = endpointType
	default:
		return m, wk, bad(ReasonUnknownType, "type", "required")
	}
	if endpointType != "" && r.Type != nil && *r.Type != endpointType {
		return m, wk, bad(ReasonUnknownType, "type", "%q sent to the /v1/%s endpoint", clip(*r.Type), endpointType)
	}
	switch m.Type {
	case TypeTrack, TypeIdentify, TypeGroup, TypePage, TypeScreen, TypeAlias:
	default:
		return m, wk, bad(ReasonUnknownType, "type", "unknown type %q (want track, identify, group, page, screen or alias)", clip(m.Type))
	}
	if m.UserID, err = optID(r.UserID, "userId"); err != nil {
		return m, wk, err
	}
	if m.AnonymousID, err = optID(r.AnonymousID, "anonymousId"); err != nil {
		return m, wk, err
	}
	if m.UserID == "" && m.AnonymousID == "" {
		return m, wk, bad(ReasonNoIdentity, "userId", "one of userId or anonymousId is required")
	}
	if m.MessageID, err = optID(r.MessageID, "messageId"); err != nil {
		return m, wk, err
	}
	if len(m.MessageID) > MaxMessageID {
		return m, wk, bad(ReasonInvalid, "messageId", "longer than %d characters", MaxMessageID)
	}
	if m.MessageID == "" {
		// Segment assigns one server-side; without it there is nothing to
		// de-duplicate on, so each delivery is a new event.
		m.MessageID = "pqlbot-" + uuid.NewString()
	}
	if m.Properties, err = optObject(r.Properties, "properties"); err != nil {
		return m, wk, err
	}
	if m.Traits, err = optObject(r.Traits, "traits"); err != nil {
		return m, wk, err
	}
	if len(m.Traits) > 0 {
		if json.Unmarshal(m.Traits, &m.TraitValues) != nil {
			return m, wk, bad(ReasonInvalid, "traits", "malformed JSON")
		}
	}
	if m.Context, err = optObject(r.Context, "context"); err != nil {
		return m, wk, err
	}
	if m.Context, m.ContextGroupID, err = mergeContext(batchCtx, m.Context); err != nil {
		return m, wk, err
	}
	if m.GroupID, err = optID(r.GroupID, "groupId"); err != nil {
		return m, wk, err
	}
	switch m.Type {
	case TypeTrack:
		if m.Name, err = optString(r.Event, "event"); err != nil {
			return m, wk, err
		}
		if strings.TrimSpace(m.Name) == "" {
			return m, wk, bad(ReasonInvalid, "event", "required for a track call")
		}
	case TypePage, TypeScreen:
		if m.Name, err = optString(r.Name, "name"); err != nil {
			return m, wk, err
		}
	case TypeGroup:
		if m.GroupID == "" {
			return m, wk, bad(ReasonInvalid, "groupId", "required for a group call")
		}
	case TypeAlias:
		if m.PreviousID, err = optID(r.PreviousID, "previousId"); err != nil {
			return m, wk, err
		}
		if m.PreviousID == "" {
			return m, wk, bad(ReasonInvalid, "previousId", "required for an alias call")
		}
	}
	if len(m.Name) > maxNameLen {
		return m, wk, bad(ReasonInvalid, map[bool]string{true: "event", false: "name"}[m.Type == TypeTrack], "longer than %d characters", maxNameLen)
	}
	var pageName string
	if m.Sums, pageName, err = numericProps(m.Properties); err != nil {
		return m, wk, err
	}
	if m.Name == "" && (m.Type == TypePage || m.Type == TypeScreen) {
		// analytics.js puts the page name in properties.name as well.
		if len(pageName) > maxNameLen {
			pageName = pageName[:0]
		}
		m.Name = pageName
	}

	ts, err := optTime(r.Timestamp, "timestamp")
	if err != nil {
		return m, wk, err
	}
	orig, err := optTime(r.OriginalTimestamp, "originalTimestamp")
	if err != nil {
		return m, wk, err
	}
	sentAt, err := optTime(r.SentAt, "sentAt")
	if err != nil {
		return m, wk, err
	}
	if sentAt.IsZero() {
		sentAt = batchSentAt
	}
	m.SentAt = sentAt
	m.Timestamp = eventTime(ts, orig, sentAt, m.ReceivedAt)
	return m, wk, nil
}

// mergeContext merges the batch context under the message's own (its keys
// win) and reads context.groupId. Without a batch context the message's
// bytes are kept as sent.
func mergeContext(batchCtx map[string]json.RawMessage, own json.RawMessage) (json.RawMessage, string, *Error) {
	if len(batchCtx) == 0 {
		// Nothing to merge: read only groupId.
		if len(own) == 0 {
			return nil, "", nil
		}
		var g struct {
			GroupID json.RawMessage `json:"groupId"`
		}
		if json.Unmarshal(own, &g) != nil {
			return nil, "", bad(ReasonInvalid, "context", "malformed JSON")
		}
		gid, err := optID(g.GroupID, "context.groupId")
		if err != nil {
			return nil, "", err
		}
		return own, gid, nil
	}
	var c map[string]json.RawMessage
	if len(own) > 0 {
		if json.Unmarshal(own, &c) != nil {
			return nil, "", bad(ReasonInvalid, "context", "malformed JSON")
		}
	}
	merged := own
	if len(batchCtx) > 0 {
		if c == nil {
			c = make(map[string]json.RawMessage, len(batchCtx))
		}
		changed := false
		for _, k := range slices.Sorted(maps.Keys(batchCtx)) {
			if _, ok := c[k]; !ok {
				c[k] = batchCtx[k]
				changed = true
			}
		}
		if changed {
			b, err := json.Marshal(c)
			if err != nil {
				return nil, "", bad(ReasonInvalid, "context", "cannot merge the batch context: %v", err)
			}
			merged = b
		}
	}
	gid, err := optID(c["groupId"], "context.groupId")
	if err != nil {
		return nil, "", err
	}
	return merged, gid, nil
}

// eventTime is Segment's rule: timestamp, else originalTimestamp, else the
// receipt time; a client time is corrected for the client's clock skew as
// receivedAt - (sentAt - time). A timestamp beside an originalTimestamp
// was already corrected upstream (a Segment webhook) and is taken as is.
func eventTime(ts, orig, sentAt, receivedAt time.Time) time.Time {
	switch {
	case !ts.IsZero() && !orig.IsZero():
	case !ts.IsZero():
		ts = skew(ts, sentAt, receivedAt)
	case !orig.IsZero():
		ts = skew(orig, sentAt, receivedAt)
	default:
		ts = receivedAt
	}
	// Nothing happens in the future: a client clock that is still ahead
	// after correction would otherwise create roll-ups for days to come.
	if ts.After(receivedAt) {
		ts = receivedAt
	}
	return ts.UTC()
}

func skew(t, sentAt, receivedAt time.Time) time.Time {
	if sentAt.IsZero() {
		return t
	}
	return receivedAt.Add(-sentAt.Sub(t))
}

// strictObject decodes a JSON object, rejecting trailing data.
func strictObject(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("empty body, want a JSON object")
	}
	if b[0] != '{' {
		return errors.New("malformed JSON: want an object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed JSON: %s", jsonErr(err))
	}
	if dec.More() {
		return errors.New("malformed JSON: trailing data after the object")
	}
	return nil
}

func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: must be %s", te.Field, te.Type)
	}
	return err.Error()
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// plainString returns the contents of a JSON string literal that has no
// escapes, without a decode (most ids, names and times); ok is false when
// the literal needs the full decoder.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') >= 0 || bytes.IndexByte(body, '"') >= 0 {
		return "", false
	}
	for _, c := range body {
		if c < 0x20 {
			return "", false // invalid JSON: let the decoder say so
		}
	}
	return string(body), true
}

func unquote(raw json.RawMessage) (string, bool) {
	if s, ok := plainString(raw); ok {
		return s, true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

func optString(raw json.RawMessage, field string) (string, *Error) {
	if isNull(raw) {
		return "", nil
	}
	s, ok := unquote(raw)
	if !ok {
		return "", bad(ReasonInvalid, field, "must be a string")
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", bad(ReasonBadText, field, "must be valid UTF-8 without NUL")
	}
	return s, nil
}

// optID accepts a string or a number (some SDKs send numeric ids).
func optID(raw json.RawMessage, field string) (string, *Error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		var ok bool
		if s, ok = unquote(raw); !ok {
			return "", bad(ReasonInvalid, field, "must be a string")
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", bad(ReasonInvalid, field, "must be a string")
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if len(s) > maxIDLen {
		return "", bad(ReasonInvalid, field, "longer than %d characters", maxIDLen)
	}
	if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
		return "", bad(ReasonBadText, field, "must be valid UTF-8 without NUL")
	}
	return s, nil
}

// optObject checks a JSON object field (already proved well-formed by the
// message's decode) and returns its bytes as sent.
func optObject(raw json.RawMessage, field string) (json.RawMessage, *Error) {
	if isNull(raw) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, bad(ReasonInvalid, field, "must be an object")
	}
	// PostgreSQL's jsonb refuses what JSON itself allows: NUL, unpaired
	// surrogates, invalid UTF-8. Refuse them here, naming the field, rather
	// than fail the whole commit later with an error the sender cannot read.
	if err := jsonbSafe(raw); err != "" {
		return nil, bad(ReasonBadText, field, "%s", err)
	}
	return raw, nil
}

// jsonbSafe checks JSON text for what jsonb cannot store; it returns a
// description of the problem, or "".
func jsonbSafe(b []byte) string {
	if !utf8.Valid(b) {
		return "must be valid UTF-8"
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++
		if i >= len(b) || b[i] != 'u' || i+4 >= len(b) {
			continue
		}
		r := hex4(b[i+1 : i+5])
		switch {
		case r == 0:
			return "must not contain \\u0000"
		case r >= 0xD800 && r <= 0xDBFF:
			// A high surrogate must be followed by a low one.
			if i+10 >= len(b) || b[i+5] != '\\' || b[i+6] != 'u' {
				return "has an unpaired surrogate escape"
			}
			if lo := hex4(b[i+7 : i+11]); lo < 0xDC00 || lo > 0xDFFF {
				return "has an unpaired surrogate escape"
			}
			i += 10
		case r >= 0xDC00 && r <= 0xDFFF:
			return "has an unpaired surrogate escape"
		default:
			i += 4
		}
	}
	return ""
}

// hex4 reads four hex digits (already validated as JSON).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		}
	}
	return r
}

// NumericSums returns the top-level numeric properties of a JSON object,
// ignoring anything malformed (the input was validated when it was stored).
func NumericSums(props []byte) map[string]float64 {
	m, _, _ := numericProps(props)
	return m
}

// numericProps reads the top-level numeric properties (which roll-ups sum)
// and properties.name (a page's name when the call has none) in one decode.
func numericProps(props json.RawMessage) (map[string]float64, string, *Error) {
	if len(props) == 0 {
		return nil, "", nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(props, &m); err != nil {
		return nil, "", bad(ReasonInvalid, "properties", "malformed JSON")
	}
	var out map[string]float64
	var name string
	for k, v := range m {
		if len(v) == 0 {
			continue
		}
		if c := v[0]; c != '-' && (c < '0' || c > '9') {
			if k == "name" && c == '"' {
				name, _ = unquote(v)
				if strings.ContainsRune(name, 0) {
					name = ""
				}
			}
			continue
		}
		// The decode above proved v a JSON number: parse it directly.
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, "", bad(ReasonInvalid, "properties."+clip(k), "number out of range")
		}
		if out == nil {
			out = make(map[string]float64)
		}
		out[k] = f
	}
	return out, name, nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func optTime(raw json.RawMessage, field string) (time.Time, *Error) {
	if isNull(raw) {
		return time.Time{}, nil
	}
	s, ok := unquote(raw)
	if !ok {
		return time.Time{}, bad(ReasonBadTimestamp, field, "must be an ISO-8601 string")
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				return time.Time{}, bad(ReasonBadTimestamp, field, "%q is out of range", clip(s))
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, bad(ReasonBadTimestamp, field, "%q is not an ISO-8601 timestamp", clip(s))
}

// clip keeps echoed input short in error messages.
func clip(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}
