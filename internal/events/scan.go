package events

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is encoding/json's nesting limit: deeper input is refused rather
// than recursed into (a 4 MB body of '[' must not grow the stack to match).
const maxDepth = 10000

// scanner walks JSON text once. It accepts exactly what encoding/json
// accepts (RFC 8259, invalid UTF-8 in strings included), and the decoder
// reads what it needs on the way, so a message's bytes are never walked
// twice: fields are kept as sub-slices of the body, traits decoded, numeric
// properties parsed, context keys noted for the batch merge.
//
// A syntax error ends the walk (the request is refused whole); text that
// PostgreSQL's jsonb cannot store is only noted in unsafe (the message is
// set aside, its neighbours kept).
type scanner struct {
	b     []byte
	i     int
	depth int
	err   *syntaxError
	// unsafe is the first text jsonb cannot store (invalid UTF-8, \u0000,
	// an unpaired surrogate) since the caller last cleared it.
	unsafe string
	// keys holds the top-level keys of every context and integrations
	// object met, for the batch merge; messages keep sub-slices of it.
	keys [][]byte
	// outOfRange is set when a decoded number does not fit a float64.
	outOfRange bool
}

type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%s (offset %d)", e.msg, e.off)
}

func (s *scanner) fail(msg string) bool {
	if s.err == nil {
		s.err = &syntaxError{msg: msg, off: s.i}
	}
	return false
}

func (s *scanner) failAt(context string) bool {
	if s.i >= len(s.b) {
		return s.fail("unexpected end of JSON input")
	}
	return s.fail("invalid character " + quoteChar(s.b[s.i]) + " " + context)
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= utf8.RuneSelf:
		return strconv.Quote(string(rune(c)))
	}
	return "'" + string(c) + "'"
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek is the next non-space byte, or 0 at the end of the input (which
// matches no byte a caller looks for).
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// root walks a whole body that must be one JSON object: obj walks the
// object itself.
func (s *scanner) root(obj func() bool) error {
	switch c := s.peek(); {
	case s.i == len(s.b):
		return errEmptyBody
	case c != '{':
		return errNotObject
	}
	if !obj() {
		return fmt.Errorf("malformed JSON: %w", s.err)
	}
	if s.ws(); s.i < len(s.b) {
		return errTrailing
	}
	return nil
}

var (
	errEmptyBody = fmt.Errorf("empty body, want a JSON object")
	errNotObject = fmt.Errorf("malformed JSON: want an object")
	errTrailing  = fmt.Errorf("malformed JSON: trailing data after the object")
)

// value walks any value.
func (s *scanner) value() bool {
	switch s.peek() {
	case '{':
		return s.object(func([]byte, int) bool { return s.value() })
	case '[':
		return s.array(s.value)
	case '"':
		_, _, ok := s.str()
		return ok
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return s.number()
	}
	return s.failAt("looking for beginning of value")
}

// object walks an object at s.i; field is called with each key (unescaped;
// it may alias the input), the offset where the key's string starts, and
// s.i at the value, which field must walk.
func (s *scanner) object(field func(key []byte, keyStart int) bool) bool {
	if s.depth++; s.depth > maxDepth {
		return s.fail("exceeded max depth")
	}
	s.i++ // '{'
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.peek() != '"' {
			return s.failAt("looking for beginning of object key string")
		}
		ks := s.i
		key, esc, ok := s.str()
		if !ok {
			return false
		}
		if esc {
			key = unescape(key)
		}
		if s.peek() != ':' {
			return s.failAt("after object key")
		}
		s.i++
		s.ws()
		if !field(key, ks) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return s.failAt("after object key:value pair")
		}
	}
}

// array walks an array at s.i; elem walks each element (s.i at it).
func (s *scanner) array(elem func() bool) bool {
	if s.depth++; s.depth > maxDepth {
		return s.fail("exceeded max depth")
	}
	s.i++ // '['
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return s.failAt("after array element")
		}
	}
}

func (s *scanner) lit(want string) bool {
	for k := 0; k < len(want); k++ {
		if s.i >= len(s.b) || s.b[s.i] != want[k] {
			return s.failAt("in literal " + want + " (expecting " + quoteChar(want[k]) + ")")
		}
		s.i++
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) digits() bool {
	if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
		return s.failAt("in numeric literal")
	}
	for s.i < len(s.b) && isDigit(s.b[s.i]) {
		s.i++
	}
	return true
}

func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case !s.digits():
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// str walks a string literal at s.i and returns its contents as sent
// (without the quotes); esc reports escapes, which unescape decodes.
func (s *scanner) str() (raw []byte, esc, ok bool) {
	b := s.b
	start := s.i + 1
	i := start
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return b[start:i], esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				s.i = len(b)
				return nil, esc, s.failAt("")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
				continue
			case 'u':
			default:
				s.i = i + 1
				return nil, esc, s.failAt("in string escape code")
			}
			for k := i + 2; k < i+6; k++ {
				if k >= len(b) || !isHex(b[k]) {
					s.i = k
					return nil, esc, s.failAt(`in \u hexadecimal character escape`)
				}
			}
			r := hex4(b[i+2 : i+6])
			i += 6
			switch {
			case r == 0:
				s.mark(`must not contain \u0000`)
			case r >= 0xD800 && r <= 0xDBFF:
				// jsonb wants a high surrogate followed by a low one.
				if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' && isHex4(b[i+2:i+6]) {
					if lo := hex4(b[i+2 : i+6]); lo >= 0xDC00 && lo <= 0xDFFF {
						i += 6
						continue
					}
				}
				s.mark("has an unpaired surrogate escape")
			case r >= 0xDC00 && r <= 0xDFFF:
				s.mark("has an unpaired surrogate escape")
			}
		case c < 0x20:
			s.i = i
			return nil, esc, s.failAt("in string literal")
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				s.mark("must be valid UTF-8")
			}
			i += size
		}
	}
	s.i = len(b)
	return nil, esc, s.fail("unexpected end of JSON input")
}

func (s *scanner) mark(problem string) {
	if s.unsafe == "" {
		s.unsafe = problem
	}
}

// any walks and decodes a value as encoding/json decodes into an any:
// objects map[string]any, arrays []any, numbers float64.
func (s *scanner) any() (any, bool) {
	switch s.peek() {
	case '{':
		m := map[string]any{}
		ok := s.object(func(k []byte, _ int) bool {
			v, ok := s.any()
			m[string(k)] = v
			return ok
		})
		return m, ok
	case '[':
		a := []any{}
		ok := s.array(func() bool {
			v, ok := s.any()
			a = append(a, v)
			return ok
		})
		return a, ok
	case '"':
		raw, esc, ok := s.str()
		if esc {
			raw = unescape(raw)
		}
		return string(raw), ok
	case 't':
		return true, s.lit("true")
	case 'f':
		return false, s.lit("false")
	case 'n':
		return nil, s.lit("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		start := s.i
		if !s.number() {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
		if err != nil {
			s.outOfRange = true
		}
		return f, true
	}
	return nil, s.failAt("looking for beginning of value")
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isHex4(b []byte) bool {
	return isHex(b[0]) && isHex(b[1]) && isHex(b[2]) && isHex(b[3])
}

// hex4 reads four hex digits (already validated).
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

// unescape decodes the contents of a string literal the scanner accepted,
// as encoding/json does: a lone surrogate becomes U+FFFD. Raw bytes are
// copied as they are (invalid UTF-8 stays invalid, for the caller to
// refuse).
func unescape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			out = append(out, raw[i:j]...)
			i = j
			continue
		}
		c := raw[i+1]
		i += 2
		switch c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(raw[i : i+4])
			i += 4
			if utf16.IsSurrogate(r) {
				dec := unicode.ReplacementChar
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, hex4(raw[i+2:i+6])); d != unicode.ReplacementChar {
						dec = d
						i += 6
					}
				}
				r = dec
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, c)
		}
	}
	return out
}

// foldEq reports whether key equals name (lower case ASCII) ignoring ASCII
// case, as encoding/json matches struct fields.
func foldEq(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range len(key) {
		c := key[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// lowerKey lower-cases a short key into buf for a switch on field names;
// a key too long to be one is returned empty.
func lowerKey(buf *[24]byte, key []byte) []byte {
	if len(key) > len(buf) {
		return nil
	}
	for i, c := range key {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(key)]
}
