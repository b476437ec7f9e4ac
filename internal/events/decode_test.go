package events

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// One invalid message is set aside with its reason and field, whole; its
// neighbours are decoded as usual.
func TestBatchSetsAsideOnlyTheBadMessages(t *testing.T) {
	big := `{"type":"track","userId":"u","event":"e","properties":{"p":"` + strings.Repeat("x", MaxMessageBytes) + `"}}`
	body := `{"batch":[
		{"type":"track","userId":"u","event":"ok1"},
		{"type":"track","userId":"u","event":"e","properties":{"x":"\u0000"}},
		{"type":"boop","userId":"u"},
		{"type":"track","event":"e"},
		{"type":"track","userId":"u","event":"e","timestamp":"2026-13-45"},
		` + big + `,
		{"type":"track","userId":"u","event":"ok2"},
		7,
		{"type":"alias","userId":"u"}]}`
	p, err := DecodeBatch([]byte(body), recv)
	require.NoError(t, err)
	require.Len(t, p.Messages, 2)
	require.Equal(t, "ok1", p.Messages[0].Name)
	require.Equal(t, "ok2", p.Messages[1].Name)
	type got struct {
		Index         int
		Reason, Field string
	}
	var rejects []got
	for _, r := range p.Rejects {
		rejects = append(rejects, got{r.Index, r.Err.Reason, r.Err.Field})
		require.True(t, json.Valid(r.Raw), "the raw message is kept whole: %q", r.Raw)
		require.Contains(t, r.Err.Msg, "batch[")
	}
	require.Equal(t, []got{
		{1, ReasonBadText, "properties"},
		{2, ReasonUnknownType, "type"},
		{3, ReasonNoIdentity, "userId"},
		{4, ReasonBadTimestamp, "timestamp"},
		{5, ReasonTooLarge, "message"},
		{7, ReasonMalformed, "message"},
		{8, ReasonInvalid, "previousId"},
	}, rejects)
	require.Equal(t, 413, p.Rejects[4].Err.Status)
	require.Len(t, p.Rejects[4].Raw, len(big))
}

// A single call keeps its 400/413 and still hands back the message to
// quarantine.
func TestSingleInvalidMessageIsKept(t *testing.T) {
	p, err := DecodeSingle(TypeTrack, []byte(`{"writeKey":"k","userId":"u","event":"a\u0000b"}`), recv)
	require.ErrorContains(t, err, "event: must be valid UTF-8 without NUL")
	require.Equal(t, "k", p.WriteKey)
	require.Len(t, p.Rejects, 1)
	require.Equal(t, ReasonBadText, p.Rejects[0].Err.Reason)

	big := []byte(`{"userId":"u","event":"e","properties":{"p":"` + strings.Repeat("x", MaxMessageBytes) + `"}}`)
	p, err = DecodeSingle(TypeTrack, big, recv)
	require.Equal(t, 413, err.(*Error).Status)
	require.Equal(t, big, p.Rejects[0].Raw)

	// Not JSON at all: refused whole, nothing to keep.
	p, err = DecodeSingle(TypeTrack, []byte(`{"userId":`), recv)
	require.Nil(t, p)
	require.Equal(t, ReasonMalformed, err.(*Error).Reason)
}

func TestBatchContextMerges(t *testing.T) {
	body := `{"context":{"library":{"name":"analytics-node"},"groupId":"batch-g","locale":"en"},"integrations":{"All":true},"batch":[
		{"type":"track","userId":"u","event":"a"},
		{"type":"track","userId":"u","event":"b","context":{"groupId":"own-g","locale":"fr"}}]}`
	p, err := DecodeBatch([]byte(body), recv)
	require.NoError(t, err)
	require.Empty(t, p.Rejects)
	require.Equal(t, "batch-g", p.Messages[0].ContextGroupID)
	require.JSONEq(t, `{"library":{"name":"analytics-node"},"groupId":"batch-g","locale":"en"}`, string(p.Messages[0].Context))
	require.Equal(t, "own-g", p.Messages[1].ContextGroupID, "the message's own keys win")
	require.JSONEq(t, `{"library":{"name":"analytics-node"},"groupId":"own-g","locale":"fr"}`, string(p.Messages[1].Context))
}

// Batch integrations merge like the batch context; a message without its
// own context or integrations takes the batch's bytes as they are.
func TestBatchIntegrationsMerge(t *testing.T) {
	body := `{"batch":[
		{"type":"track","userId":"u","event":"a"},
		{"type":"track","userId":"u","event":"b","integrations":{"Salesforce":true,"Mixpanel":false},"context":{"ip":"10.0.0.1"}},
		{"type":"track","userId":"u","event":"c","integrations":{}},
		{"type":"track","userId":"u","event":"d","integrations":["x"]},
		{"type":"track","userId":"u","event":"e","integrations":{"x":"\u0000"}}],
		"integrations":{"All":true,"Salesforce":false},"context":{"library":{"name":"analytics-python"}}}`
	p, err := DecodeBatch([]byte(body), recv)
	require.NoError(t, err)
	require.Len(t, p.Messages, 3)
	require.Equal(t, `{"All":true,"Salesforce":false}`, string(p.Messages[0].Integrations), "the batch's, as sent")
	require.Equal(t, `{"library":{"name":"analytics-python"}}`, string(p.Messages[0].Context))
	require.JSONEq(t, `{"All":true,"Salesforce":true,"Mixpanel":false}`, string(p.Messages[1].Integrations), "the message's own keys win")
	require.JSONEq(t, `{"ip":"10.0.0.1","library":{"name":"analytics-python"}}`, string(p.Messages[1].Context))
	require.JSONEq(t, `{"All":true,"Salesforce":false}`, string(p.Messages[2].Integrations))
	require.Len(t, p.Rejects, 2)
	require.Equal(t, "integrations", p.Rejects[0].Err.Field)
	require.Equal(t, ReasonInvalid, p.Rejects[0].Err.Reason)
	require.Equal(t, ReasonBadText, p.Rejects[1].Err.Reason)

	// No batch integrations: the message's own, as sent; none at all: nil.
	p, err = DecodeBatch([]byte(`{"batch":[{"type":"track","userId":"u","event":"a","integrations":{"All":false}},{"type":"track","userId":"u","event":"b"}]}`), recv)
	require.NoError(t, err)
	require.Equal(t, `{"All":false}`, string(p.Messages[0].Integrations))
	require.Nil(t, p.Messages[1].Integrations)

	_, err = DecodeBatch([]byte(`{"integrations":"all","batch":[{"type":"track","userId":"u","event":"a"}]}`), recv)
	require.ErrorContains(t, err, "integrations: must be an object")
}

// The merge is done on the bytes: escaped keys, a batch key the message
// already has under the same name, and context.groupId from either side.
func TestContextMergeEdges(t *testing.T) {
	body := `{"context":{"gr\u006fupId":"batch-g","ip":"1.1.1.1","locale":"en"},"batch":[
		{"type":"track","userId":"u","event":"a","context":{ }},
		{"type":"track","userId":"u","event":"b","context":{"groupId":null}},
		{"type":"track","userId":"u","event":"c","context":{"ip":"2.2.2.2","locale":"fr","groupId":"own"}}]}`
	p, err := DecodeBatch([]byte(body), recv)
	require.NoError(t, err)
	require.Len(t, p.Messages, 3)
	require.Equal(t, "batch-g", p.Messages[0].ContextGroupID)
	require.JSONEq(t, `{"groupId":"batch-g","ip":"1.1.1.1","locale":"en"}`, string(p.Messages[0].Context))
	require.Equal(t, "", p.Messages[1].ContextGroupID, "the message's own groupId wins, even null")
	require.JSONEq(t, `{"groupId":null,"ip":"1.1.1.1","locale":"en"}`, string(p.Messages[1].Context))
	require.Equal(t, "own", p.Messages[2].ContextGroupID)
	require.Equal(t, `{"ip":"2.2.2.2","locale":"fr","groupId":"own"}`, string(p.Messages[2].Context), "nothing to add: the bytes as sent")
}

// One walk decodes what encoding/json would: field names in any case,
// escaped keys and values, traits as map[string]any, numeric ids.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	body := `{"Type":"identify","USERID":"u\u00e9","anonymous\u0049d":7,"traits":{"email":"a@b.io","n":1.5e3,"tags":["x",null,true],"nested":{"k":[]},"s":"\ud83d\ude00\n"},"timestamp":"2026-11-22T11:00:00.5+01:00"}`
	p, err := DecodeSingle(TypeIdentify, []byte(body), recv)
	require.NoError(t, err)
	m := p.Messages[0]
	require.Equal(t, "ué", m.UserID)
	require.Equal(t, "7", m.AnonymousID)
	var want map[string]any
	require.NoError(t, json.Unmarshal(m.Traits, &want))
	require.Equal(t, want, m.TraitValues)
	require.Equal(t, time.Date(2026, 11, 22, 10, 0, 0, 5e8, time.UTC), m.Timestamp)

	_, err = DecodeSingle(TypeIdentify, []byte(`{"userId":"u","traits":{"n":1e999}}`), recv)
	require.ErrorContains(t, err, "traits: number out of range")
	_, err = DecodeSingle(TypeTrack, []byte(`{"type":5,"userId":"u","event":"e"}`), recv)
	require.ErrorContains(t, err, "type: must be a string")
	for _, bad := range []string{`{"userId":"u","event":"e",}`, `{"userId":"u" "event":"e"}`, `{"userId":"u","event":01}`, `{"userId":"\x"}`, "{\"userId\":\"a\x01b\"}", `{"a":[1,]}`, `{"a":tru}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":"\u12"}`, strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001)} {
		_, err := DecodeSingle(TypeTrack, []byte(bad), recv)
		require.ErrorContains(t, err, "malformed JSON", bad)
		require.False(t, json.Valid([]byte(bad)) && len(bad) < 1000, bad)
	}
}

func TestEventTime(t *testing.T) {
	cases := []struct {
		name, fields string
		want         time.Time
	}{
		{"originalTimestamp when timestamp is absent", `"originalTimestamp":"2026-11-22T11:00:00Z"`, recv.Add(-time.Hour)},
		{"originalTimestamp corrected with sentAt", `"originalTimestamp":"2026-11-22T12:50:00Z","sentAt":"2026-11-22T13:00:00Z"`, recv.Add(-10 * time.Minute)},
		{"timestamp wins over originalTimestamp", `"timestamp":"2026-11-22T10:00:00Z","originalTimestamp":"2026-11-22T11:00:00Z","sentAt":"2026-11-22T11:00:01Z"`, recv.Add(-2 * time.Hour)},
		{"bad originalTimestamp", `"originalTimestamp":"soon"`, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := DecodeSingle(TypeTrack, []byte(`{"userId":"u","event":"e",`+tc.fields+`}`), recv)
			if tc.want.IsZero() {
				require.ErrorContains(t, err, "originalTimestamp: ")
				require.Equal(t, ReasonBadTimestamp, p.Rejects[0].Err.Reason)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, p.Messages[0].Timestamp)
		})
	}
}

func TestTopLevelGroupIDAndAlias(t *testing.T) {
	p, err := DecodeBatch([]byte(`{"batch":[
		{"type":"track","userId":"u","event":"e","groupId":"g-top"},
		{"type":"alias","userId":"u","previousId":"anon-1"}]}`), recv)
	require.NoError(t, err)
	require.Equal(t, "g-top", p.Messages[0].GroupID)
	require.Equal(t, "anon-1", p.Messages[1].PreviousID)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func TestReadBody(t *testing.T) {
	body := []byte(`{"batch":[{"type":"track","userId":"u","event":"e"}]}`)
	var zl, raw bytes.Buffer
	zw := zlib.NewWriter(&zl)
	_, _ = zw.Write(body)
	_ = zw.Close()
	fw, _ := flate.NewWriter(&raw, flate.BestSpeed)
	_, _ = fw.Write(body)
	_ = fw.Close()
	for _, tc := range []struct {
		enc  string
		body []byte
	}{{"", body}, {"identity", body}, {"gzip", gz(body)}, {"GZIP", gz(body)}, {"deflate", zl.Bytes()}, {"deflate", raw.Bytes()}} {
		got, err := ReadBody(bytes.NewReader(tc.body), tc.enc, MaxBatchBytes)
		require.NoError(t, err, tc.enc)
		require.Equal(t, body, got, tc.enc)
	}
	_, err := ReadBody(bytes.NewReader(body), "gzip", MaxBatchBytes)
	require.ErrorContains(t, err, "not gzip data")
	_, err = ReadBody(bytes.NewReader(body), "br", MaxBatchBytes)
	require.Equal(t, 415, err.(*Error).Status)
	_, err = ReadBody(bytes.NewReader(gz(body)[:20]), "gzip", MaxBatchBytes)
	require.Equal(t, 400, err.(*Error).Status, "a truncated stream is a bad body")
}

// A zip bomb is read only up to the limit: 10 MB of zeros (10 KB on the
// wire) is a 413 after at most limit+1 bytes of memory.
func TestReadBodyStopsAtTheLimit(t *testing.T) {
	bomb := gz(make([]byte, 10<<20))
	require.Less(t, len(bomb), 20<<10)
	r := &countingReader{r: bytes.NewReader(bomb)}
	_, err := ReadBody(r, "gzip", MaxBatchBytes)
	require.Equal(t, 413, err.(*Error).Status)
	require.Equal(t, ReasonTooLarge, err.(*Error).Reason)
	require.Less(t, r.n, len(bomb), "reading stopped before the end of the stream")
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzDecodeBody: any body, compressed or not, under any Content-Encoding,
// is read and decoded without panicking; every refusal is a typed Error
// with a reason; every accepted message is consistent, every set-aside
// one kept with a reason and field.
func FuzzDecodeBody(f *testing.F) {
	batch := []byte(`{"sentAt":"2026-11-22T11:00:01Z","context":{"groupId":"g"},"batch":[{"type":"track","anonymousId":"a","event":"e","originalTimestamp":"2026-11-22T11:00:00Z"},{"type":"alias","userId":"u","previousId":"a"}]}`)
	f.Add("batch", "gzip", gz(batch))
	f.Add("batch", "", batch)
	f.Add("track", "gzip", gz([]byte(`{"userId":"u","event":"e","groupId":"g","properties":{"n":1e999}}`)))
	f.Add("batch", "deflate", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	f.Add("identify", "gzip", gz([]byte(`{"userId":"u","traits":{"email":"\ud800"}}`)))
	f.Add("batch", "gzip", gz([]byte(`{"integrations":{"All":true},"context":{"ip":"1.1.1.1"},"batch":[{"type":"track","userId":"u","event":"e","integrations":{"All":false},"context":{"gr\u006fupId":"g"}}]}`)))
	f.Fuzz(func(t *testing.T, typ, enc string, wire []byte) {
		body, err := ReadBody(bytes.NewReader(wire), enc, MaxBatchBytes)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Reason == "" {
				t.Fatalf("untyped read error %T: %v", err, err)
			}
			return
		}
		var p *Payload
		if typ == "batch" {
			p, err = DecodeBatch(body, recv)
		} else {
			p, err = DecodeSingle(typ, body, recv)
		}
		checkAgainstEncodingJSON(t, body, p, err)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Reason == "" || e.Field == "" {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if p == nil {
				return
			}
		}
		checkPayload(t, p)
	})
}

func checkPayload(t *testing.T, p *Payload) {
	for _, m := range p.Messages {
		if m.UserKey() == "" || m.MessageID == "" || len(m.MessageID) > MaxMessageID {
			t.Fatalf("accepted a message without identity: %+v", m)
		}
		if m.Timestamp.After(recv) || m.Timestamp.Location() != time.UTC {
			t.Fatalf("bad timestamp %v", m.Timestamp)
		}
		if m.Type == TypeAlias && m.PreviousID == "" {
			t.Fatalf("alias without previousId")
		}
		switch m.Type {
		case TypeTrack, TypeIdentify, TypeGroup, TypePage, TypeScreen, TypeAlias:
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
	}
	for _, r := range p.Rejects {
		if r.Err == nil || r.Err.Reason == "" || r.Err.Field == "" || r.Raw == nil {
			t.Fatalf("reject without reason, field or raw message: %+v", r)
		}
	}
}

// A large batch keeps its order and each set-aside message its index,
// across the chunks the decoder holds messages in.
func TestLargeBatchKeepsOrderAndIndexes(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"batch":[`)
	for i := range 1500 {
		if i > 0 {
			sb.WriteByte(',')
		}
		if i == 17 || i == 1100 {
			sb.WriteString(`{"type":"track","event":"no-user"}`)
			continue
		}
		fmt.Fprintf(&sb, `{"type":"track","userId":"u","event":"e%d"}`, i)
	}
	sb.WriteString(`]}`)
	p, err := DecodeBatch([]byte(sb.String()), recv)
	require.NoError(t, err)
	require.Len(t, p.Messages, 1498)
	require.Equal(t, []int{17, 1100}, []int{p.Rejects[0].Index, p.Rejects[1].Index})
	require.Equal(t, `{"type":"track","event":"no-user"}`, string(p.Rejects[1].Raw))
	for k, m := range p.Messages {
		i := k + map[bool]int{true: 1}[k >= 17] + map[bool]int{true: 1}[k >= 1099]
		require.Equal(t, fmt.Sprintf("e%d", i), m.Name)
	}
}
