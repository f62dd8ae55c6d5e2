// Package jsonbody moves the "body" string of Lambda payload-2.0 JSON (events and answers) in
// and out in one pass. Such a string holds the whole HTTP body escaped (1.3 MB for a 1 MB
// processor batch), and encoding/json reads it several times over (validate, decode, unquote);
// here it is lifted out and unescaped once, and the few KB left go through encoding/json.
// Anything the fast path is not sure about goes the slow way, so results always equal
// encoding/json's. The adapter (lambda/) and the local API Gateway (internal/apigwlocal) share it.
package jsonbody

import (
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Lift returns the top-level object p with its first "body" string replaced by "", and that
// string's decoded content; ok is false when the fast path does not apply (odd layout, invalid
// escapes or UTF-8, raw control characters): the caller then decodes p with encoding/json.
func Lift(p []byte) (rest, body []byte, ok bool) {
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return nil, nil, false
	}
	i++
	for {
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != '"' {
			return nil, nil, false
		}
		keyEnd, esc := stringEnd(p, i)
		if keyEnd < 0 {
			return nil, nil, false
		}
		isBody := !esc && string(p[i+1:keyEnd-1]) == "body"
		i = skipSpace(p, keyEnd)
		if i >= len(p) || p[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(p, i+1)
		if isBody {
			if i >= len(p) || p[i] != '"' {
				return nil, nil, false
			}
			body, end, ok := unescape(p, i)
			if !ok {
				return nil, nil, false
			}
			rest = make([]byte, 0, len(p)-(end-i)+2)
			rest = append(append(append(rest, p[:i]...), `""`...), p[end:]...)
			return rest, body, true
		}
		end := skipValue(p, i)
		if end < 0 {
			return nil, nil, false
		}
		i = skipSpace(p, end)
		if i >= len(p) || p[i] != ',' {
			return nil, nil, false // no body: nothing to gain
		}
		i++
	}
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string at p[i] == '"' and whether
// it has escapes; -1 if unterminated.
func stringEnd(p []byte, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(p); j++ {
		switch p[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc
		}
	}
	return -1, esc
}

// skipValue returns the index after the JSON value at p[i], or -1. It only finds the end: the
// rest of the payload is validated by encoding/json afterwards.
func skipValue(p []byte, i int) int {
	if i >= len(p) {
		return -1
	}
	switch p[i] {
	case '"':
		end, _ := stringEnd(p, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(p) {
			switch p[i] {
			case '"':
				end, _ := stringEnd(p, i)
				if end < 0 {
					return -1
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(p) && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t' {
		i++
	}
	return i
}

// unescapeString decodes the JSON string at p[i] == '"' and returns its content and the index
// after its closing quote; ok is false for anything encoding/json would reject or decode
// differently (invalid escapes, raw control characters, invalid UTF-8).
func unescape(p []byte, i int) (out []byte, end int, ok bool) {
	out = make([]byte, len(p)-i) // the content is never longer than its escaped form
	n := 0
	for i++; i < len(p); {
		c := p[i]
		if c == '"' {
			// Escapes only ever produce whole runes, so the result is valid UTF-8 iff the raw bytes were.
			return out[:n], i + 1, utf8.Valid(out[:n])
		}
		if c < 0x20 {
			return nil, 0, false
		}
		if c != '\\' {
			out[n] = c
			n++
			i++
			continue
		}
		if i+1 >= len(p) {
			return nil, 0, false
		}
		switch c = p[i+1]; c {
		case '"', '\\', '/':
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r, ok := hex4(p[i+2:])
			if !ok {
				return nil, 0, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if i+6 <= len(p) && p[i] == '\\' && p[i+1] == 'u' {
					r2, ok = hex4(p[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			n += utf8.EncodeRune(out[n:], r) // 6 escaped bytes give at most 3, 12 give 4
			continue
		default:
			return nil, 0, false
		}
		out[n] = c
		n++
		i += 2
	}
	return nil, 0, false
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	for _, c := range s[:4] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(s[:4]), 16, 32)
	return rune(n), err == nil
}

// jsonSafe marks the bytes that stand for themselves inside a JSON string.
var jsonSafe = func() (t [256]bool) {
	for b := 0x20; b < 256; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// AppendEscaped appends valid UTF-8 text as JSON string content (no quotes). It stops and
// returns false as soon as buf grows past limit. It works in chunks with room reserved for the
// worst case (6 bytes per byte), so the per-byte loop writes by index instead of calling
// append: JSON bodies escape a quote every few bytes.
func AppendEscaped(buf, s []byte, limit int) ([]byte, bool) {
	const chunk = 4096
	const hex = "0123456789abcdef"
	for len(s) > 0 {
		c := s[:min(chunk, len(s))]
		s = s[len(c):]
		buf = slices.Grow(buf, 6*len(c))
		n := len(buf)
		out := buf[:n+6*len(c)]
		for _, b := range c {
			if jsonSafe[b] {
				out[n] = b
				n++
				continue
			}
			out[n] = '\\'
			switch b {
			case '"', '\\':
				out[n+1] = b
			case '\n':
				out[n+1] = 'n'
			case '\r':
				out[n+1] = 'r'
			case '\t':
				out[n+1] = 't'
			default:
				out[n+1], out[n+2], out[n+3], out[n+4], out[n+5] = 'u', '0', '0', hex[b>>4], hex[b&0xf]
				n += 4
			}
			n += 2
		}
		buf = out[:n]
		if len(buf) > limit {
			return buf, false
		}
	}
	return buf, true
}
