// Package events decodes and validates Segment HTTP Tracking API payloads and
// normalises them into Messages ready to store. It is pure: the caller
// passes the time the request was received.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits from Segment's HTTP Tracking API.
const (
	MaxMessageBytes = 32 * 1024
	MaxBatchBytes   = 500 * 1024
	MaxMessageID    = 100
	maxIDLen        = 255
	maxNameLen      = 255
)

// Message types. screen is stored as a page view (mobile SDKs send it);
// alias is accepted and kept but has no effect on accounts.
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeAlias    = "alias"
)

// Message is one normalised Segment call.
type Message struct {
	Type        string
	MessageID   string
	UserID      string
	AnonymousID string
	// Name is the track event name or the page/screen name.
	Name string
	// GroupID is the account a group call links the user to.
	GroupID string
	// ContextGroupID is context.groupId: the account a track/page call is
	// attributed to, overriding the user's linked group.
	ContextGroupID string
	Properties     json.RawMessage // compact JSON object or nil
	Traits         json.RawMessage // compact JSON object or nil
	Context        json.RawMessage // compact JSON object or nil
	// Sums holds the top-level numeric properties, which roll-ups sum.
	Sums map[string]float64
	// Timestamp is when it happened, corrected for client clock skew.
	Timestamp  time.Time
	SentAt     time.Time // zero when the client sent none
	ReceivedAt time.Time
}

// UserKey is the identity the message is about: userId, else anonymousId.
func (m *Message) UserKey() string {
	if m.UserID != "" {
		return m.UserID
	}
	return m.AnonymousID
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

// Error is a rejected payload: the HTTP status and a message naming the field.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func bad(format string, args ...any) *Error {
	return &Error{Status: 400, Msg: fmt.Sprintf(format, args...)}
}

// Payload is a decoded request: its messages and the body writeKey, if any.
type Payload struct {
	WriteKey string
	Messages []Message
}

type rawMessage struct {
	Type              *string         `json:"type"`
	MessageID         json.RawMessage `json:"messageId"`
	UserID            json.RawMessage `json:"userId"`
	AnonymousID       json.RawMessage `json:"anonymousId"`
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

// DecodeBatch decodes a /v1/batch body. Any bad message rejects the whole
// batch, naming its index, so a request is stored entirely or not at all.
func DecodeBatch(body []byte, receivedAt time.Time) (*Payload, error) {
	if len(body) > MaxBatchBytes {
		return nil, &Error{Status: 413, Msg: fmt.Sprintf("batch: %d bytes is over the %d byte limit", len(body), MaxBatchBytes)}
	}
	var rb rawBatch
	if err := strictObject(body, &rb); err != nil {
		return nil, bad("body: %v", err)
	}
	if rb.Batch == nil {
		return nil, bad("batch: required (an array of messages)")
	}
	if len(rb.Batch) == 0 {
		return nil, bad("batch: must hold at least one message")
	}
	wk, err := optString(rb.WriteKey, "writeKey")
	if err != nil {
		return nil, err
	}
	sentAt, err := optTime(rb.SentAt, "sentAt")
	if err != nil {
		return nil, err
	}
	p := &Payload{WriteKey: wk, Messages: make([]Message, 0, len(rb.Batch))}
	for i, raw := range rb.Batch {
		if len(raw) > MaxMessageBytes {
			return nil, &Error{Status: 413, Msg: fmt.Sprintf("batch[%d]: %d bytes is over the %d byte message limit", i, len(raw), MaxMessageBytes)}
		}
		m, err := decodeOne(raw, "", sentAt, receivedAt)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, &Error{Status: e.Status, Msg: fmt.Sprintf("batch[%d].%s", i, e.Msg)}
			}
			return nil, err
		}
		p.Messages = append(p.Messages, m)
	}
	return p, nil
}

// DecodeSingle decodes a /v1/{track,identify,group,page} body; typ is the
// endpoint's type and wins over a missing type field.
func DecodeSingle(typ string, body []byte, receivedAt time.Time) (*Payload, error) {
	if len(body) > MaxMessageBytes {
		return nil, &Error{Status: 413, Msg: fmt.Sprintf("message: %d bytes is over the %d byte limit", len(body), MaxMessageBytes)}
	}
	m, err := decodeOne(body, typ, time.Time{}, receivedAt)
	if err != nil {
		return nil, err
	}
	var wk struct {
		WriteKey json.RawMessage `json:"writeKey"`
	}
	_ = json.Unmarshal(body, &wk) // decodeOne already proved the body is an object
	k, err := optString(wk.WriteKey, "writeKey")
	if err != nil {
		return nil, err
	}
	return &Payload{WriteKey: k, Messages: []Message{m}}, nil
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

func decodeOne(raw []byte, endpointType string, batchSentAt, receivedAt time.Time) (Message, error) {
	var r rawMessage
	if err := strictObject(raw, &r); err != nil {
		return Message{}, bad("body: %v", err)
	}
	var m Message
	m.ReceivedAt = receivedAt.UTC()
	switch {
	case r.Type != nil:
		m.Type = *r.Type
	case endpointType != "":
		m.Type = endpointType
	default:
		return m, bad("type: required")
	}
	if endpointType != "" && r.Type != nil && *r.Type != endpointType {
		return m, bad("type: %q sent to the /v1/%s endpoint", clip(*r.Type), endpointType)
	}
	switch m.Type {
	case TypeTrack, TypeIdentify, TypeGroup, TypePage, TypeScreen, TypeAlias:
	default:
		return m, bad("type: unknown type %q (want track, identify, group, page, screen or alias)", clip(m.Type))
	}
	var err error
	if m.UserID, err = optID(r.UserID, "userId"); err != nil {
		return m, err
	}
	if m.AnonymousID, err = optID(r.AnonymousID, "anonymousId"); err != nil {
		return m, err
	}
	if m.UserID == "" && m.AnonymousID == "" {
		return m, bad("userId: one of userId or anonymousId is required")
	}
	if m.MessageID, err = optID(r.MessageID, "messageId"); err != nil {
		return m, err
	}
	if len(m.MessageID) > MaxMessageID {
		return m, bad("messageId: longer than %d characters", MaxMessageID)
	}
	if m.MessageID == "" {
		// Segment assigns one server-side; without it there is nothing to
		// de-duplicate on, so each delivery is a new event.
		m.MessageID = "pqlbot-" + uuid.NewString()
	}
	if m.Properties, err = optObject(r.Properties, "properties"); err != nil {
		return m, err
	}
	if m.Traits, err = optObject(r.Traits, "traits"); err != nil {
		return m, err
	}
	if m.Context, err = optObject(r.Context, "context"); err != nil {
		return m, err
	}
	if len(m.Context) > 0 {
		var c struct {
			GroupID json.RawMessage `json:"groupId"`
		}
		_ = json.Unmarshal(m.Context, &c)
		if m.ContextGroupID, err = optID(c.GroupID, "context.groupId"); err != nil {
			return m, err
		}
	}
	switch m.Type {
	case TypeTrack:
		if m.Name, err = optString(r.Event, "event"); err != nil {
			return m, err
		}
		if strings.TrimSpace(m.Name) == "" {
			return m, bad("event: required for a track call")
		}
	case TypePage, TypeScreen:
		if m.Name, err = optString(r.Name, "name"); err != nil {
			return m, err
		}
		if m.Name == "" && len(m.Properties) > 0 {
			var p struct {
				Name any `json:"name"`
			}
			_ = json.Unmarshal(m.Properties, &p)
			m.Name, _ = p.Name.(string)
		}
	case TypeGroup:
		if m.GroupID, err = optID(r.GroupID, "groupId"); err != nil {
			return m, err
		}
		if m.GroupID == "" {
			return m, bad("groupId: required for a group call")
		}
	}
	if len(m.Name) > maxNameLen {
		return m, bad("%s: longer than %d characters", map[bool]string{true: "event", false: "name"}[m.Type == TypeTrack], maxNameLen)
	}
	if m.Sums, err = numericProps(m.Properties); err != nil {
		return m, err
	}

	ts, err := optTime(r.Timestamp, "timestamp")
	if err != nil {
		return m, err
	}
	if _, err := optTime(r.OriginalTimestamp, "originalTimestamp"); err != nil {
		return m, err
	}
	sentAt, err := optTime(r.SentAt, "sentAt")
	if err != nil {
		return m, err
	}
	if sentAt.IsZero() {
		sentAt = batchSentAt
	}
	m.SentAt = sentAt
	m.Timestamp = correctSkew(ts, sentAt, m.ReceivedAt, len(r.OriginalTimestamp) > 0)
	return m, nil
}

// correctSkew applies Segment's rule timestamp = receivedAt - (sentAt -
// timestamp). A message that carries originalTimestamp was already corrected
// by Segment (a forwarded webhook), so its timestamp is taken as is.
func correctSkew(ts, sentAt, receivedAt time.Time, alreadyCorrected bool) time.Time {
	switch {
	case ts.IsZero():
		ts = receivedAt
	case !sentAt.IsZero() && !alreadyCorrected:
		ts = receivedAt.Add(-sentAt.Sub(ts))
	}
	// Nothing happens in the future: a client clock that is still ahead
	// after correction would otherwise create roll-ups for days to come.
	if ts.After(receivedAt) {
		ts = receivedAt
	}
	return ts.UTC()
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

func optString(raw json.RawMessage, field string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", bad("%s: must be a string", field)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", bad("%s: must be valid UTF-8 without NUL", field)
	}
	return s, nil
}

// optID accepts a string or a number (some SDKs send numeric ids).
func optID(raw json.RawMessage, field string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", bad("%s: must be a string", field)
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", bad("%s: must be a string", field)
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if len(s) > maxIDLen {
		return "", bad("%s: longer than %d characters", field, maxIDLen)
	}
	if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
		return "", bad("%s: must be valid UTF-8 without NUL", field)
	}
	return s, nil
}

func optObject(raw json.RawMessage, field string) (json.RawMessage, error) {
	if isNull(raw) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, bad("%s: must be an object", field)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, bad("%s: malformed JSON", field)
	}
	// PostgreSQL's jsonb refuses what JSON itself allows: NUL, unpaired
	// surrogates, invalid UTF-8. Refuse them here, naming the field, rather
	// than fail the whole commit later with an error the sender cannot read.
	if err := jsonbSafe(buf.Bytes()); err != "" {
		return nil, bad("%s: %s", field, err)
	}
	return buf.Bytes(), nil
}

// jsonbSafe checks compact JSON text for what jsonb cannot store; it
// returns a description of the problem, or "".
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
	m, _ := numericProps(props)
	return m
}

func numericProps(props json.RawMessage) (map[string]float64, error) {
	if len(props) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(props))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, bad("properties: malformed JSON")
	}
	var out map[string]float64
	for k, v := range m {
		n, ok := v.(json.Number)
		if !ok {
			continue
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, bad("properties.%s: number out of range", clip(k))
		}
		if out == nil {
			out = make(map[string]float64)
		}
		out[k] = f
	}
	return out, nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func optTime(raw json.RawMessage, field string) (time.Time, error) {
	if isNull(raw) {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, bad("%s: must be an ISO-8601 string", field)
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				return time.Time{}, bad("%s: %q is out of range", field, clip(s))
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, bad("%s: %q is not an ISO-8601 timestamp", field, clip(s))
}

// clip keeps echoed input short in error messages.
func clip(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}
