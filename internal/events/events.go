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
	"fmt"
	"math"
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
	// Integrations is the message's integrations (which destinations it
	// was meant for), the batch's merged in: a JSON object or nil.
	Integrations json.RawMessage
	// TraitValues is Traits decoded in the same walk as the rest of the
	// message, so nothing decodes it again.
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

// rawMessage is one message as found in a single walk over its bytes:
// each field's value as sent (a sub-slice of the body, nil when absent),
// and what the rules need decoded on the way.
type rawMessage struct {
	Type, MessageID, UserID, AnonymousID, PreviousID []byte
	Event, Name, GroupID                             []byte
	Timestamp, OriginalTimestamp, SentAt, WriteKey   []byte
	Properties, Traits                               []byte
	Context, Integrations                            object

	propsUnsafe, traitsUnsafe string
	sums                      map[string]float64
	sumsOutOfRange            string // the first top-level number no float64 holds
	pageName                  string // properties.name
	traitValues               map[string]any
	traitsOutOfRange          bool
}

// object is a context or integrations object as found: its bytes, its
// top-level keys and their "key":value spans (for merging), and groupId.
type object struct {
	raw     []byte
	unsafe  string
	keys    [][]byte // unescaped
	pairs   [][2]int // spans of "key":value in the body; filled for batch objects
	groupID []byte
}

// has reports whether the object has key (jsonb's exact match).
func (o *object) has(key []byte) bool {
	for _, k := range o.keys {
		if string(k) == string(key) {
			return true
		}
	}
	return false
}

// message walks a message object at s.i into r.
func (s *scanner) message(r *rawMessage) bool {
	return s.object(func(key []byte, _ int) bool {
		var buf [24]byte
		start := s.i
		var dst *[]byte
		switch string(lowerKey(&buf, key)) {
		case "type":
			dst = &r.Type
		case "messageid":
			dst = &r.MessageID
		case "userid":
			dst = &r.UserID
		case "anonymousid":
			dst = &r.AnonymousID
		case "previousid":
			dst = &r.PreviousID
		case "event":
			dst = &r.Event
		case "name":
			dst = &r.Name
		case "groupid":
			dst = &r.GroupID
		case "timestamp":
			dst = &r.Timestamp
		case "originaltimestamp":
			dst = &r.OriginalTimestamp
		case "sentat":
			dst = &r.SentAt
		case "writekey":
			dst = &r.WriteKey
		case "properties":
			return s.properties(r)
		case "traits":
			return s.traits(r)
		case "context":
			return s.keyedObject(&r.Context, true, false)
		case "integrations":
			return s.keyedObject(&r.Integrations, false, false)
		default:
			return s.value()
		}
		ok := s.value()
		*dst = s.b[start:s.i]
		return ok
	})
}

// properties walks the properties: their bytes, and in the same walk the
// top-level numbers roll-ups sum and properties.name (a page's name when
// the call has none).
func (s *scanner) properties(r *rawMessage) bool {
	start := s.i
	s.unsafe = ""
	r.sums, r.pageName, r.sumsOutOfRange = nil, "", ""
	if s.peek() != '{' {
		ok := s.value()
		r.Properties, r.propsUnsafe = s.b[start:s.i], s.unsafe
		return ok
	}
	ok := s.object(func(k []byte, _ int) bool {
		vs := s.i
		c := s.peek()
		switch {
		case c == '-' || isDigit(c):
			if !s.number() {
				return false
			}
			if string(k) == "name" {
				r.pageName = ""
			}
			f, err := strconv.ParseFloat(string(s.b[vs:s.i]), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				if r.sumsOutOfRange == "" {
					r.sumsOutOfRange = string(k)
				}
				return true
			}
			if r.sums == nil {
				r.sums = make(map[string]float64)
			}
			r.sums[string(k)] = f
			return true
		case c == '"' && string(k) == "name":
			raw, esc, ok := s.str()
			if esc {
				raw = unescape(raw)
			}
			r.pageName = string(raw)
			if bytes.IndexByte(raw, 0) >= 0 {
				r.pageName = ""
			}
			delete(r.sums, "name")
			return ok
		}
		if string(k) == "name" {
			r.pageName = ""
		}
		if r.sums != nil {
			delete(r.sums, string(k)) // a later repeat of the key wins
		}
		return s.value()
	})
	r.Properties, r.propsUnsafe = s.b[start:s.i], s.unsafe
	return ok
}

// traits walks the traits, decoding them on the way.
func (s *scanner) traits(r *rawMessage) bool {
	start := s.i
	s.unsafe, s.outOfRange = "", false
	r.traitValues = nil
	if s.peek() != '{' {
		ok := s.value()
		r.Traits, r.traitsUnsafe = s.b[start:s.i], s.unsafe
		return ok
	}
	v, ok := s.any()
	r.traitValues, _ = v.(map[string]any)
	r.Traits, r.traitsUnsafe, r.traitsOutOfRange = s.b[start:s.i], s.unsafe, s.outOfRange
	return ok
}

// keyedObject walks a context or integrations object, noting its top-level
// keys (and, for a batch's, each pair's span) so the merge never decodes
// it again, and context.groupId.
func (s *scanner) keyedObject(o *object, groupID, pairs bool) bool {
	start := s.i
	s.unsafe = ""
	*o = object{}
	if s.peek() != '{' {
		ok := s.value()
		o.raw, o.unsafe = s.b[start:s.i], s.unsafe
		return ok
	}
	from := len(s.keys)
	ok := s.object(func(k []byte, ks int) bool {
		s.keys = append(s.keys, k)
		vs := s.i
		ok := s.value()
		if groupID && foldEq(k, "groupid") {
			o.groupID = s.b[vs:s.i]
		}
		if pairs {
			o.pairs = append(o.pairs, [2]int{ks, s.i})
		}
		return ok
	})
	o.raw, o.unsafe = s.b[start:s.i], s.unsafe
	o.keys = s.keys[from:len(s.keys):len(s.keys)]
	return ok
}

// envelope is a batch's own fields.
type envelope struct {
	batch                 elements
	batchSeen, batchArray bool
	sentAt, writeKey      []byte
	context, integrations object
}

// element is one message of a batch.
type element struct {
	raw    []byte
	object bool
	r      rawMessage
}

// elements holds a batch's messages in chunks that double in size (16 up
// to 1,024 elements) and are never copied: an element is large, and a
// slice's growth would copy each one several times.
type elements struct {
	chunks [][]element
	n      int
}

func (e *elements) add() *element {
	if len(e.chunks) == 0 || len(e.chunks[len(e.chunks)-1]) == cap(e.chunks[len(e.chunks)-1]) {
		e.chunks = append(e.chunks, make([]element, 0, 16<<min(len(e.chunks), 6)))
	}
	c := &e.chunks[len(e.chunks)-1]
	*c = append(*c, element{})
	e.n++
	return &(*c)[len(*c)-1]
}

// DecodeBatch decodes a /v1/batch body. The envelope must be right or the
// whole request is refused; each message is then valid (Messages) or set
// aside (Rejects) on its own. The body is walked once: each message is
// decoded as the walk meets it, and finished once the envelope's sentAt,
// context and integrations (which may come after the batch) are known.
func DecodeBatch(body []byte, receivedAt time.Time) (*Payload, error) {
	if len(body) > MaxBatchBytes {
		return nil, &Error{Status: 413, Reason: ReasonTooLarge, Field: "batch", Msg: fmt.Sprintf("batch: %d bytes is over the 4 MB limit", len(body))}
	}
	s := scanner{b: body}
	var env envelope
	err := s.root(func() bool {
		return s.object(func(key []byte, _ int) bool {
			start := s.i
			switch {
			case foldEq(key, "batch"):
				env.batchSeen, env.batchArray, env.batch = true, false, elements{}
				switch s.peek() {
				case '[':
					env.batchArray = true
					return s.array(func() bool {
						start := s.i
						if s.peek() != '{' {
							ok := s.value()
							env.batch.add().raw = s.b[start:s.i]
							return ok
						}
						e := env.batch.add()
						e.object = true
						ok := s.message(&e.r)
						e.raw = s.b[start:s.i]
						return ok
					})
				case 'n':
					env.batchSeen = false
				}
				return s.value()
			case foldEq(key, "sentat"):
				ok := s.value()
				env.sentAt = s.b[start:s.i]
				return ok
			case foldEq(key, "writekey"):
				ok := s.value()
				env.writeKey = s.b[start:s.i]
				return ok
			case foldEq(key, "context"):
				return s.keyedObject(&env.context, true, true)
			case foldEq(key, "integrations"):
				return s.keyedObject(&env.integrations, false, true)
			}
			return s.value()
		})
	})
	if err != nil {
		return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "body", Msg: "body: " + err.Error()}
	}
	if !env.batchSeen {
		return nil, bad(ReasonInvalid, "batch", "required (an array of messages)")
	}
	if !env.batchArray {
		return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "batch", Msg: "body: malformed JSON: batch: must be an array of messages"}
	}
	if env.batch.n == 0 {
		return nil, bad(ReasonInvalid, "batch", "must hold at least one message")
	}
	wk, err2 := optString(env.writeKey, "writeKey")
	if err2 != nil {
		return nil, err2
	}
	sentAt, err2 := optTime(env.sentAt, "sentAt")
	if err2 != nil {
		return nil, err2
	}
	// A batch-level context and integrations are what some SDKs factor out
	// of their messages: they merge into each, the message's own keys
	// winning.
	var batch batchFields
	if batch.context, err2 = batchObject(&env.context, "context"); err2 != nil {
		return nil, err2
	}
	if batch.integrations, err2 = batchObject(&env.integrations, "integrations"); err2 != nil {
		return nil, err2
	}
	batch.sentAt = sentAt
	p := &Payload{WriteKey: wk, Messages: make([]Message, 0, env.batch.n)}
	i := -1
	for _, chunk := range env.batch.chunks {
		for k := range chunk {
			i++
			p.finish(i, &chunk[k], &batch, s.b, receivedAt)
		}
	}
	return p, nil
}

// finish adds batch message i to p: decoded, or set aside with why.
func (p *Payload) finish(i int, e *element, batch *batchFields, body []byte, receivedAt time.Time) {
	reject := func(err *Error) {
		p.Rejects = append(p.Rejects, Reject{Index: i, Raw: e.raw, Err: err})
	}
	switch {
	case len(e.raw) > MaxMessageBytes:
		reject(&Error{Status: 413, Reason: ReasonTooLarge, Field: "message",
			Msg: fmt.Sprintf("batch[%d]: %d bytes is over the 32 KB message limit", i, len(e.raw))})
	case !e.object:
		reject(&Error{Status: 400, Reason: ReasonMalformed, Field: "message",
			Msg: fmt.Sprintf("batch[%d].message: must be a JSON object", i)})
	default:
		p.Messages = append(p.Messages, Message{})
		if _, err := decodeRaw(&p.Messages[len(p.Messages)-1], &e.r, e.raw, "", batch, body, receivedAt); err != nil {
			p.Messages = p.Messages[:len(p.Messages)-1]
			err.Msg = fmt.Sprintf("batch[%d].%s", i, err.Msg)
			reject(err)
		}
	}
}

// batchFields are what a batch gives each of its messages.
type batchFields struct {
	sentAt                time.Time
	context, integrations *object // nil when absent or empty
}

// batchObject checks a batch's context or integrations.
func batchObject(o *object, field string) (*object, *Error) {
	if isNull(o.raw) {
		return nil, nil
	}
	if o.raw[0] != '{' {
		return nil, bad(ReasonInvalid, field, "must be an object")
	}
	if o.unsafe != "" {
		return nil, bad(ReasonBadText, field, "%s", o.unsafe)
	}
	if len(o.keys) == 0 {
		return nil, nil
	}
	return o, nil
}

// DecodeSingle decodes a /v1/{track,identify,...} body; typ is the
// endpoint's type and wins over a missing type field. A body that is not a
// JSON object is refused whole (nil Payload). An invalid message comes back
// both as the error (the request's answer) and as the Payload's Reject (to
// quarantine).
func DecodeSingle(typ string, body []byte, receivedAt time.Time) (*Payload, error) {
	s := scanner{b: body}
	var r rawMessage
	if err := s.root(func() bool { return s.message(&r) }); err != nil {
		return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "body", Msg: "body: " + err.Error()}
	}
	if len(body) > MaxMessageBytes {
		wk, _ := optString(r.WriteKey, "writeKey")
		e := &Error{Status: 413, Reason: ReasonTooLarge, Field: "message", Msg: fmt.Sprintf("message: %d bytes is over the 32 KB limit", len(body))}
		return &Payload{WriteKey: wk, Rejects: []Reject{{Raw: body, Err: e}}}, e
	}
	p := &Payload{Messages: make([]Message, 1)}
	wk, derr := decodeRaw(&p.Messages[0], &r, body, typ, nil, body, receivedAt)
	p.WriteKey = wk
	if derr != nil {
		return &Payload{WriteKey: wk, Rejects: []Reject{{Raw: body, Err: derr}}}, derr
	}
	return p, nil
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

// decodeRaw checks a walked message and fills m; body is what the batch
// object spans point into.
func decodeRaw(m *Message, r *rawMessage, raw []byte, endpointType string, batch *batchFields, body []byte, receivedAt time.Time) (string, *Error) {
	*m = Message{Raw: raw, ReceivedAt: receivedAt.UTC()}
	wk, err := optString(r.WriteKey, "writeKey")
	if err != nil {
		return "", err
	}
	typed := !isNull(r.Type)
	var typ string
	if typed {
		if typ, err = optString(r.Type, "type"); err != nil {
			return wk, err
		}
	}
	switch {
	case typed:
		m.Type = typ
	case endpointType != "":
		m.Type = endpointType
	default:
		return wk, bad(ReasonUnknownType, "type", "required")
	}
	if endpointType != "" && typed && typ != endpointType {
		return wk, bad(ReasonUnknownType, "type", "%q sent to the /v1/%s endpoint", clip(typ), endpointType)
	}
	switch m.Type {
	case TypeTrack, TypeIdentify, TypeGroup, TypePage, TypeScreen, TypeAlias:
	default:
		return wk, bad(ReasonUnknownType, "type", "unknown type %q (want track, identify, group, page, screen or alias)", clip(m.Type))
	}
	if m.UserID, err = optID(r.UserID, "userId"); err != nil {
		return wk, err
	}
	if m.AnonymousID, err = optID(r.AnonymousID, "anonymousId"); err != nil {
		return wk, err
	}
	if m.UserID == "" && m.AnonymousID == "" {
		return wk, bad(ReasonNoIdentity, "userId", "one of userId or anonymousId is required")
	}
	if m.MessageID, err = optID(r.MessageID, "messageId"); err != nil {
		return wk, err
	}
	if len(m.MessageID) > MaxMessageID {
		return wk, bad(ReasonInvalid, "messageId", "longer than %d characters", MaxMessageID)
	}
	if m.MessageID == "" {
		// Segment assigns one server-side; without it there is nothing to
		// de-duplicate on, so each delivery is a new event.
		m.MessageID = "pqlbot-" + uuid.NewString()
	}
	if m.Properties, err = optObject(r.Properties, r.propsUnsafe, "properties"); err != nil {
		return wk, err
	}
	if m.Traits, err = optObject(r.Traits, r.traitsUnsafe, "traits"); err != nil {
		return wk, err
	}
	if r.traitsOutOfRange {
		return wk, bad(ReasonInvalid, "traits", "number out of range")
	}
	m.TraitValues = r.traitValues
	var bctx, bint *object
	if batch != nil {
		bctx, bint = batch.context, batch.integrations
	}
	var gid []byte
	if m.Context, gid, err = merge(&r.Context, bctx, body, "context"); err != nil {
		return wk, err
	}
	if m.ContextGroupID, err = optID(gid, "context.groupId"); err != nil {
		return wk, err
	}
	if m.Integrations, _, err = merge(&r.Integrations, bint, body, "integrations"); err != nil {
		return wk, err
	}
	if m.GroupID, err = optID(r.GroupID, "groupId"); err != nil {
		return wk, err
	}
	switch m.Type {
	case TypeTrack:
		if m.Name, err = optString(r.Event, "event"); err != nil {
			return wk, err
		}
		if strings.TrimSpace(m.Name) == "" {
			return wk, bad(ReasonInvalid, "event", "required for a track call")
		}
	case TypePage, TypeScreen:
		if m.Name, err = optString(r.Name, "name"); err != nil {
			return wk, err
		}
	case TypeGroup:
		if m.GroupID == "" {
			return wk, bad(ReasonInvalid, "groupId", "required for a group call")
		}
	case TypeAlias:
		if m.PreviousID, err = optID(r.PreviousID, "previousId"); err != nil {
			return wk, err
		}
		if m.PreviousID == "" {
			return wk, bad(ReasonInvalid, "previousId", "required for an alias call")
		}
	}
	if len(m.Name) > maxNameLen {
		return wk, bad(ReasonInvalid, map[bool]string{true: "event", false: "name"}[m.Type == TypeTrack], "longer than %d characters", maxNameLen)
	}
	if r.sumsOutOfRange != "" {
		return wk, bad(ReasonInvalid, "properties."+clip(r.sumsOutOfRange), "number out of range")
	}
	m.Sums = r.sums
	if m.Name == "" && (m.Type == TypePage || m.Type == TypeScreen) {
		// analytics.js puts the page name in properties.name as well.
		if len(r.pageName) <= maxNameLen {
			m.Name = r.pageName
		}
	}

	ts, err := optTime(r.Timestamp, "timestamp")
	if err != nil {
		return wk, err
	}
	orig, err := optTime(r.OriginalTimestamp, "originalTimestamp")
	if err != nil {
		return wk, err
	}
	sentAt, err := optTime(r.SentAt, "sentAt")
	if err != nil {
		return wk, err
	}
	if sentAt.IsZero() && batch != nil {
		sentAt = batch.sentAt
	}
	m.SentAt = sentAt
	m.Timestamp = eventTime(ts, orig, sentAt, m.ReceivedAt)
	return wk, nil
}

// merge checks a message's own context or integrations and merges the
// batch's under it, the message's own keys winning, by appending the
// batch's missing "key":value pairs as sent: nothing is decoded or
// re-encoded, and a message without its own takes the batch's bytes as
// they are. It also returns groupId as the merge leaves it.
func merge(own, batch *object, body []byte, field string) (json.RawMessage, []byte, *Error) {
	raw, err := optObject(own.raw, own.unsafe, field)
	if err != nil {
		return nil, nil, err
	}
	if batch == nil {
		return raw, own.groupID, nil
	}
	if raw == nil {
		return batch.raw, batch.groupID, nil
	}
	gid := own.groupID
	n := 0
	for i, k := range batch.keys {
		if !own.has(k) {
			n += batch.pairs[i][1] - batch.pairs[i][0] + 1
		}
	}
	if n == 0 {
		return raw, gid, nil
	}
	inner := bytes.TrimSpace(raw[1 : len(raw)-1])
	out := make([]byte, 0, len(inner)+n+2)
	out = append(append(out, '{'), inner...)
	for i, k := range batch.keys {
		if own.has(k) {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, body[batch.pairs[i][0]:batch.pairs[i][1]]...)
		if foldEq(k, "groupid") && own.groupID == nil {
			gid = batch.groupID
		}
	}
	return append(out, '}'), gid, nil
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

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// unquote returns the contents of a JSON string literal the scanner
// accepted; ok is false when raw is another kind of value.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), true
	}
	return string(unescape(body)), true
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
		// The scanner proved raw a JSON value: a number is its text.
		if c := raw[0]; c != '-' && !isDigit(c) {
			return "", bad(ReasonInvalid, field, "must be a string")
		}
		s = string(raw)
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

// optObject checks a JSON object field: its bytes as sent, and unsafe, the
// first text in it PostgreSQL's jsonb cannot store, which the scanner noted.
func optObject(raw []byte, unsafe, field string) (json.RawMessage, *Error) {
	if isNull(raw) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, bad(ReasonInvalid, field, "must be an object")
	}
	// PostgreSQL's jsonb refuses what JSON itself allows: NUL, unpaired
	// surrogates, invalid UTF-8. Refuse them here, naming the field, rather
	// than fail the whole commit later with an error the sender cannot read.
	if unsafe != "" {
		return nil, bad(ReasonBadText, field, "%s", unsafe)
	}
	return raw, nil
}

// NumericSums returns the top-level numeric properties of a JSON object,
// ignoring anything malformed (the input was validated when it was stored).
func NumericSums(props []byte) map[string]float64 {
	s := scanner{b: props}
	var r rawMessage
	if s.peek() != '{' || !s.properties(&r) {
		return nil
	}
	return r.sums
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
	// What SDKs send, RFC 3339, is parsed from the bytes without a copy.
	if len(raw) > 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		var t time.Time
		if t.UnmarshalText(raw[1:len(raw)-1]) == nil && t.Year() >= 1970 && t.Year() <= 9999 {
			return t.UTC(), nil
		}
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
