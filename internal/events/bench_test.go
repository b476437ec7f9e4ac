package events

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// benchBatch is a batch of 100 messages shaped like analytics-node's:
// context with library and groupId, a few properties, identify traits.
func benchBatch() []byte {
	var sb strings.Builder
	sb.WriteString(`{"sentAt":"2026-11-22T11:59:59Z","batch":[`)
	for i := range 100 {
		if i > 0 {
			sb.WriteByte(',')
		}
		if i%10 == 0 {
			fmt.Fprintf(&sb, `{"type":"identify","messageId":"i-%d","userId":"u%d","anonymousId":"a%d","traits":{"email":"u%d@acme.io","name":"User %d","title":"Engineer"},"context":{"library":{"name":"analytics-node","version":"3.1.0"}},"timestamp":"2026-11-22T11:00:00Z"}`, i, i, i, i, i)
			continue
		}
		fmt.Fprintf(&sb, `{"type":"track","messageId":"m-%d","userId":"u%d","event":"Records Imported","properties":{"records":%d,"source":"csv","plan":"trial"},"context":{"groupId":"acct-%d","library":{"name":"analytics-node","version":"3.1.0"},"ip":"10.0.0.1"},"timestamp":"2026-11-22T11:00:00Z"}`, i, i%20, i, i%5)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

func BenchmarkDecodeBatch(b *testing.B) { benchDecode(b, benchBatch()) }

func BenchmarkDecodeBatchContext(b *testing.B) { benchDecode(b, benchBatchContext()) }

func benchDecode(b *testing.B, body []byte) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := DecodeBatch(body, recv)
		if err != nil || len(p.Messages) != 100 {
			b.Fatal(err)
		}
	}
}

// benchBatchContext is the same batch with the library context and the
// integrations factored out to the batch level (the shape of Segment's
// documented batch): every message takes the batch context and
// integrations under its own.
func benchBatchContext() []byte {
	b := benchBatch()
	b = bytes.ReplaceAll(b, []byte(`"library":{"name":"analytics-node","version":"3.1.0"}`), []byte(`"locale":"en-US"`))
	return append([]byte(`{"context":{"library":{"name":"analytics-python","version":"2.3.2"},"ip":"10.0.0.2"},"integrations":{"All":true,"Salesforce":false},`), b[1:]...)
}
