package events

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// ReadBody reads a request body of at most limit decompressed bytes.
// encoding is the Content-Encoding header: gzip and deflate bodies are
// decompressed whatever the Content-Type claims (RudderStack's node SDK
// labels its gzip JSON application/x-www-form-urlencoded). The limit applies
// to the decompressed bytes and reading stops one byte past it, so a body
// that inflates to gigabytes costs at most limit+1 bytes of memory: a 413,
// never an out-of-memory.
func ReadBody(r io.Reader, encoding string, limit int64) ([]byte, error) {
	dec, err := decoder(r, encoding)
	if err != nil {
		return nil, err
	}
	if z, ok := dec.(*gzip.Reader); ok {
		defer gzipPool.Put(z)
	}
	body, err := readLimited(dec, limit+1)
	if errors.Is(err, errOverLimit) {
		return nil, tooLargeBody(limit)
	}
	if err != nil {
		// The cause is kept so the transport can tell its own limits
		// (http.MaxBytesError) from a corrupt stream.
		return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "body", Msg: fmt.Sprintf("body: could not be read (%s): %v", encodingName(encoding), err), cause: err}
	}
	if int64(len(body)) > limit {
		return nil, tooLargeBody(limit)
	}
	return body, nil
}

func tooLargeBody(limit int64) *Error {
	return &Error{Status: 413, Reason: ReasonTooLarge, Field: "body",
		Msg: fmt.Sprintf("body: over the %d MB limit (decompressed)", limit>>20)}
}

func encodingName(enc string) string {
	if enc == "" {
		return "uncompressed"
	}
	return enc
}

func decoder(r io.Reader, encoding string) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return r, nil
	case "gzip", "x-gzip":
		// A gzip reader holds tens of KB of window and tables: reused
		// across requests (ReadBody puts it back), a gzip single event
		// costs about what a plain one does.
		z, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if z == nil {
			z, err = gzip.NewReader(r)
		} else {
			err = z.Reset(r)
		}
		if err != nil {
			if z != nil {
				gzipPool.Put(z)
			}
			return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "body", Msg: "body: Content-Encoding is gzip but the body is not gzip data"}
		}
		return z, nil
	case "deflate":
		// HTTP's deflate is zlib-wrapped (RFC 9110), but some clients send
		// a raw deflate stream: look at the header to tell them apart.
		br := bufio.NewReader(r)
		h, _ := br.Peek(2)
		if len(h) == 2 && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
			z, err := zlib.NewReader(br)
			if err != nil {
				return nil, &Error{Status: 400, Reason: ReasonMalformed, Field: "body", Msg: "body: Content-Encoding is deflate but the body is not zlib data"}
			}
			return z, nil
		}
		return flate.NewReader(br), nil
	default:
		return nil, &Error{Status: 415, Reason: ReasonMalformed, Field: "Content-Encoding",
			Msg: fmt.Sprintf("Content-Encoding: %q is not supported (send gzip, deflate or none)", clip(encoding))}
	}
}

var errOverLimit = errors.New("over the limit")

// readLimited reads at most n bytes into fixed-size chunks and joins them
// once at the end. Unlike io.ReadAll it never copies a growing buffer, so
// a body that reaches the limit (a zip bomb) leaves n bytes of garbage,
// not n plus every smaller buffer before it. The first chunk is reused
// across requests and the result is a copy of exactly the bytes read: a
// 200-byte track costs 200 bytes, not a fresh 64 KB chunk for the
// collector to sweep.
func readLimited(r io.Reader, n int64) ([]byte, error) {
	first := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(first)
	chunks := [][]byte{(*first)[:0:min(int64(cap(*first)), n)]}
	var total int64
	for total < n {
		c := &chunks[len(chunks)-1]
		if len(*c) == cap(*c) {
			chunks = append(chunks, make([]byte, 0, min(readChunk, n-total)))
			c = &chunks[len(chunks)-1]
		}
		k, err := r.Read((*c)[len(*c):cap(*c)])
		*c = (*c)[:len(*c)+k]
		total += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if total >= n {
		return nil, errOverLimit
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

const readChunk = 64 << 10

var gzipPool sync.Pool // of *gzip.Reader

var chunkPool = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}
