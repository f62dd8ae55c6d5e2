package lambda

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Decoding a 1 MB JSON body string with encoding/json costs ~5 ms (it scans every byte twice), so
// the body is lifted out of the event by a fast top-level scan and unescaped here; the rest of the
// event, a few KB, goes through encoding/json. Anything unexpected falls back to encoding/json.

// splitBody returns the payload with the top-level "body" string replaced by "" and that string's
// decoded content; ok is false when the fast path does not apply.
func splitBody(p []byte) (rest, body []byte, ok bool) {
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
			return nil, nil, false // end of object without a body: nothing to gain
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

// stringEnd returns the index after the closing quote of the string starting at p[i] == '"', and
// whether it contains escapes; -1 if unterminated. A plain byte loop: in JSON-in-JSON bodies every
// few bytes are an escaped quote, so per-match calls (bytes.IndexByte) cost more than they save.
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

// skipValue returns the index after the JSON value at p[i], or -1.
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

// unescape decodes the JSON string starting at p[i] == '"' in one pass and returns its content
// and the index after its closing quote; ok is false on anything encoding/json would treat
// differently (invalid escapes; invalid UTF-8, which it replaces with U+FFFD). Raw control
// characters, which encoding/json rejects, are let through: API Gateway never sends them.
func unescape(p []byte, i int) (out []byte, end int, ok bool) {
	out = make([]byte, len(p)-i) // the content is never longer than its escaped form
	n := 0
	for i++; i < len(p); {
		c := p[i]
		if c == '"' {
			// Escapes only ever produce whole runes, so the result is valid UTF-8 iff the raw bytes were.
			return out[:n], i + 1, utf8.Valid(out[:n])
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
	n, err := strconv.ParseUint(string(s[:4]), 16, 32)
	return rune(n), err == nil
}

// parseEventFast decodes an event, lifting the body out first when possible.
func parseEventFast(payload []byte, ev *Event) error {
	rest, body, ok := splitBody(payload)
	if !ok {
		return json.Unmarshal(payload, ev)
	}
	if err := json.Unmarshal(rest, ev); err != nil {
		return err
	}
	if ev.Body == "" { // a later duplicate "body" key would have won in encoding/json too
		ev.Body = string(body)
	}
	return nil
}
