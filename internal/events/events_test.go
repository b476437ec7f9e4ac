package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var recv = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestSkewCorrection(t *testing.T) {
	cases := []struct {
		name, body string
		want       time.Time
	}{
		{"no timestamp uses receivedAt", `{"userId":"u","event":"e"}`, recv},
		{"no sentAt keeps timestamp", `{"userId":"u","event":"e","timestamp":"2026-11-22T11:00:00Z"}`, recv.Add(-time.Hour)},
		{"clock 1h fast", `{"userId":"u","event":"e","timestamp":"2026-11-22T12:50:00Z","sentAt":"2026-11-22T13:00:00Z"}`, recv.Add(-10 * time.Minute)},
		{"clock 1h slow, offset zone", `{"userId":"u","event":"e","timestamp":"2026-11-22T05:55:00-05:00","sentAt":"2026-11-22T06:00:00-05:00"}`, recv.Add(-5 * time.Minute)},
		{"already corrected by Segment", `{"userId":"u","event":"e","timestamp":"2026-11-22T11:00:00Z","originalTimestamp":"2026-11-22T13:00:00Z","sentAt":"2026-11-22T13:01:00Z"}`, recv.Add(-time.Hour)},
		{"future is clamped", `{"userId":"u","event":"e","timestamp":"2027-01-01T00:00:00Z"}`, recv},
		{"milliseconds and no colon in offset", `{"userId":"u","event":"e","timestamp":"2026-11-22T11:00:00.123+0000"}`, recv.Add(-time.Hour + 123*time.Millisecond)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := DecodeSingle(TypeTrack, []byte(tc.body), recv)
			require.NoError(t, err)
			require.True(t, tc.want.Equal(p.Messages[0].Timestamp), "got %s want %s", p.Messages[0].Timestamp, tc.want)
		})
	}
}

func TestBatchSentAtAppliesToMessages(t *testing.T) {
	body := `{"sentAt":"2026-11-22T14:00:00Z","batch":[{"type":"track","userId":"u","event":"e","timestamp":"2026-11-22T13:30:00Z"}]}`
	p, err := DecodeBatch([]byte(body), recv)
	require.NoError(t, err)
	require.Equal(t, recv.Add(-30*time.Minute), p.Messages[0].Timestamp)
}

func TestNormalisation(t *testing.T) {
	p, err := DecodeBatch([]byte(`{"writeKey":"wk","batch":[
		{"type":"track","userId":12345,"event":"Records Imported","properties":{"records":40,"label":"x","big":1e3},"context":{"groupId":"g1"}},
		{"type":"page","anonymousId":"a1","properties":{"name":"Pricing"}},
		{"type":"screen","userId":"u","name":"Settings"},
		{"type":"group","userId":"u","groupId":"g1","traits":{"employees":50}},
		{"type":"alias","userId":"u","previousId":"a1"}]}`), recv)
	require.NoError(t, err)
	require.Equal(t, "wk", p.WriteKey)
	m := p.Messages
	require.Equal(t, "12345", m[0].UserID)
	require.Equal(t, "g1", m[0].ContextGroupID)
	require.Equal(t, map[string]float64{"records": 40, "big": 1000}, m[0].Sums)
	require.Equal(t, "track", m[0].Kind())
	require.Equal(t, "Pricing", m[1].Name)
	require.Equal(t, "a1", m[1].UserKey())
	require.Equal(t, "page", m[2].Kind())
	require.Equal(t, "g1", m[3].GroupID)
	require.Equal(t, "", m[3].Kind())
	require.Equal(t, "", m[4].Kind())
	require.NotEmpty(t, m[0].MessageID, "a missing messageId is generated")
}

func TestErrorsNameTheField(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"userId":"u","event":"e","context":{"groupId":[1]}}`, "context.groupId: must be a string"},
		{`{"userId":"u","event":"e","properties":{"n":1e999}}`, "properties.n: number out of range"},
		{`{"userId":"u","event":"e","traits":"x"}`, "traits: must be an object"},
		{`{"userId":"u","event":"e","properties":{"a":"\u0000"}}`, "properties: must not contain"},
		{`{"userId":"u","event":"` + strings.Repeat("e", 300) + `"}`, "event: longer than 255"},
		{`{"userId":"u","event":"e","timestamp":"1800-01-01T00:00:00Z"}`, "timestamp: \"1800-01-01T00:00:00Z\" is out of range"},
		{`{"userId":"u","event":"e"} {"x":1}`, "trailing data"},
		{`{"userId":"u","event":7}`, "event: must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := DecodeSingle(TypeTrack, []byte(tc.body), recv)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPeekWriteKey(t *testing.T) {
	require.Equal(t, "k", PeekWriteKey([]byte(`{"writeKey":"k","batch":"garbage"}`)))
	require.Equal(t, "", PeekWriteKey([]byte(`{"writeKey":5}`)))
	require.Equal(t, "", PeekWriteKey([]byte(`nope`)))
}

// FuzzDecode: decoding outside input never panics, and anything accepted is
// internally consistent (an identity, a known type, a UTC time not after
// receipt, a message id within Segment's limit).
func FuzzDecode(f *testing.F) {
	f.Add("batch", []byte(`{"batch":[{"type":"track","userId":"u","event":"e","timestamp":"2026-11-22T11:00:00Z"}],"sentAt":"2026-11-22T11:00:01Z"}`))
	f.Add("track", []byte(`{"userId":"u","event":"e","properties":{"records":5}}`))
	f.Add("group", []byte(`{"anonymousId":"a","groupId":"g","traits":{"employees":"12"}}`))
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		var p *Payload
		var err error
		if typ == "batch" {
			p, err = DecodeBatch(body, recv)
		} else {
			p, err = DecodeSingle(typ, body, recv)
		}
		checkAgainstEncodingJSON(t, body, p, err)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		checkPayload(t, p)
	})
}

// checkAgainstEncodingJSON holds the one-walk decoder to encoding/json: it
// refuses a body as malformed exactly when encoding/json would, and what it
// decodes on the way (traits, numeric properties) is what encoding/json
// decodes from the bytes it keeps.
func checkAgainstEncodingJSON(t *testing.T, body []byte, p *Payload, err error) {
	t.Helper()
	trimmed := bytes.TrimSpace(body)
	isObject := json.Valid(body) && len(trimmed) > 0 && trimmed[0] == '{'
	var e *Error
	if errors.As(err, &e) && e.Reason == ReasonMalformed && e.Field == "body" && isObject && !strings.Contains(e.Msg, "max depth") {
		t.Fatalf("refused a JSON object as malformed: %v", err)
	}
	if !json.Valid(body) && p != nil {
		t.Fatalf("decoded invalid JSON: %q", body)
	}
	if p == nil {
		return
	}
	for _, m := range p.Messages {
		for _, raw := range []json.RawMessage{m.Properties, m.Traits, m.Context, m.Integrations} {
			if raw != nil && !json.Valid(raw) {
				t.Fatalf("kept invalid JSON %q", raw)
			}
		}
		if m.Traits != nil {
			var want map[string]any
			if err := json.Unmarshal(m.Traits, &want); err != nil || !reflect.DeepEqual(want, m.TraitValues) {
				t.Fatalf("traits %q decoded as %#v, encoding/json says %#v (%v)", m.Traits, m.TraitValues, want, err)
			}
		}
		var props map[string]json.RawMessage
		_ = json.Unmarshal(m.Properties, &props)
		var want map[string]float64
		for k, v := range props {
			if c := v[0]; c == '-' || (c >= '0' && c <= '9') {
				f, _ := strconv.ParseFloat(string(v), 64)
				if want == nil {
					want = map[string]float64{}
				}
				want[k] = f
			}
		}
		if !reflect.DeepEqual(want, m.Sums) {
			t.Fatalf("properties %q summed as %v, want %v", m.Properties, m.Sums, want)
		}
	}
}

func TestJSONBUnsafeInputIsRefused(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"userId":"u","event":"a\u0000b"}`, "event: must be valid UTF-8 without NUL"},
		{`{"userId":"u","event":"e","properties":{"x":"\ud800"}}`, "properties: has an unpaired surrogate escape"},
		{`{"userId":"u","event":"e","properties":{"x":"\udc00z"}}`, "properties: has an unpaired surrogate escape"},
		{`{"userId":"u","event":"e","properties":{"x":"\ud800\u0041"}}`, "properties: has an unpaired surrogate escape"},
		{"{\"userId\":\"u\",\"event\":\"e\",\"traits\":{\"x\":\"\xff\"}}", "traits: must be valid UTF-8"},
		{`{"userId":"u","event":"e","context":{"x":"\u0000"}}`, "context: must not contain"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := DecodeSingle(TypeTrack, []byte(tc.body), recv)
			require.ErrorContains(t, err, tc.want)
		})
	}
	// What jsonb can store passes: a paired surrogate, an escaped backslash
	// before a u, ordinary escapes.
	for _, ok := range []string{
		`{"userId":"u","event":"e","properties":{"x":"\ud83d\ude00"}}`,
		`{"userId":"u","event":"e","properties":{"x":"\\u0000 is text here"}}`,
		`{"userId":"u","event":"e","properties":{"x":"tab\there \u00e9"}}`,
	} {
		_, err := DecodeSingle(TypeTrack, []byte(ok), recv)
		require.NoError(t, err, ok)
	}
}
