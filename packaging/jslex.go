package packaging

import (
	"bytes"
	"strings"
)

// A small JavaScript lexer, just enough to find module references without being fooled by
// comments, strings, template literals and regular expressions. It is not a parser: it
// never fails, and a construct it misreads costs at most the rest of one line (strings and
// regular expressions end at a newline).

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokString   // '...' or "..." (val is the decoded text)
	tokTemplate // `...` without substitutions (val is the text)
	tokTmplHead // `...${
	tokTmplMid  // }...${
	tokTmplTail // }...`
	tokPunct    // one operator character (val is it), or a number
	tokRegex
)

type token struct {
	kind tokKind
	val  string
	pos  int
}

type lexer struct {
	src []byte
	i   int
	// braces tracks, for each open template substitution, the brace depth inside it.
	braces []int
	prev   token // last significant token, for telling a regex from a division
}

func newLexer(src []byte) *lexer {
	lx := &lexer{src: src}
	if len(src) > 2 && src[0] == '#' && src[1] == '!' { // hashbang
		for lx.i < len(src) && src[lx.i] != '\n' {
			lx.i++
		}
	}
	return lx
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// regexAfterKeyword are keywords after which a slash starts a regular expression.
var regexAfterKeyword = map[string]bool{
	"return": true, "typeof": true, "instanceof": true, "in": true, "of": true, "new": true,
	"delete": true, "void": true, "throw": true, "case": true, "do": true, "else": true,
	"yield": true, "await": true,
}

// knownIdents are the identifiers the scanner looks at; others get an empty value, which
// saves allocating a string for every identifier of every file.
var knownIdents = map[string]string{}

func init() {
	for _, k := range []string{"require", "import", "export", "function", "from", "resolve", "path", "join", "__dirname"} {
		knownIdents[k] = k
	}
	for k := range regexAfterKeyword {
		knownIdents[k] = k
	}
}

func internIdent(b []byte) string { return knownIdents[string(b)] }

// punctStr holds one-byte strings, so punctuation tokens allocate nothing.
var punctStr [256]string

func init() {
	for i := range punctStr {
		punctStr[i] = string([]byte{byte(i)})
	}
}

// slashIsRegex decides from the previous token whether '/' starts a regular expression.
func (lx *lexer) slashIsRegex() bool {
	switch lx.prev.kind {
	case tokEOF:
		return true
	case tokIdent:
		return regexAfterKeyword[lx.prev.val]
	case tokString, tokTemplate, tokTmplTail, tokRegex:
		return false
	case tokPunct:
		switch lx.prev.val {
		case ")", "]", "}", "0": // "0" stands for any number
			return false
		}
		return true
	}
	return true
}

func (lx *lexer) next() token {
	t := lx.scan()
	if t.kind != tokEOF {
		lx.prev = t
	}
	return t
}

func (lx *lexer) scan() token {
	src := lx.src
	for lx.i < len(src) {
		c := src[lx.i]
		start := lx.i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			lx.i++
		case c == '/' && lx.i+1 < len(src) && src[lx.i+1] == '/':
			for lx.i < len(src) && src[lx.i] != '\n' {
				lx.i++
			}
		case c == '/' && lx.i+1 < len(src) && src[lx.i+1] == '*':
			if end := bytes.Index(src[lx.i+2:], []byte("*/")); end >= 0 {
				lx.i += 2 + end + 2
			} else {
				lx.i = len(src)
			}
		case c == '\'' || c == '"':
			return token{tokString, lx.quoted(c), start}
		case c == '`':
			lx.i++
			return lx.templatePart(start, true)
		case c == '}' && len(lx.braces) > 0 && lx.braces[len(lx.braces)-1] == 0:
			lx.braces = lx.braces[:len(lx.braces)-1]
			lx.i++
			return lx.templatePart(start, false)
		case isIdentStart(c):
			for lx.i < len(src) && isIdentPart(src[lx.i]) {
				lx.i++
			}
			return token{tokIdent, internIdent(src[start:lx.i]), start}
		case c >= '0' && c <= '9' || c == '.' && lx.i+1 < len(src) && src[lx.i+1] >= '0' && src[lx.i+1] <= '9':
			for lx.i < len(src) && (isIdentPart(src[lx.i]) || src[lx.i] == '.') {
				lx.i++
			}
			return token{tokPunct, "0", start}
		case c == '/' && lx.slashIsRegex():
			lx.regex()
			return token{tokRegex, "", start}
		default:
			lx.i++
			if len(lx.braces) > 0 {
				switch c {
				case '{':
					lx.braces[len(lx.braces)-1]++
				case '}':
					lx.braces[len(lx.braces)-1]--
				}
			}
			return token{tokPunct, punctStr[c], start}
		}
	}
	return token{kind: tokEOF, pos: len(src)}
}

// quoted reads a '...' or "..." string starting at lx.i and returns its text with simple
// escapes decoded (enough for module specifiers).
func (lx *lexer) quoted(q byte) string {
	src := lx.src
	lx.i++
	// Fast path: no escape before the closing quote.
	for j := lx.i; j < len(src); j++ {
		if c := src[j]; c == q {
			v := string(src[lx.i:j])
			lx.i = j + 1
			return v
		} else if c == '\\' || c == '\n' {
			break
		}
	}
	var sb strings.Builder
	for lx.i < len(src) {
		c := src[lx.i]
		switch {
		case c == q:
			lx.i++
			return sb.String()
		case c == '\n':
			return sb.String() // unterminated: stop at the line end
		case c == '\\' && lx.i+1 < len(src):
			lx.i += 2
			switch e := src[lx.i-1]; e {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case '\r', '\n':
				// line continuation
			default:
				sb.WriteByte(e)
			}
		default:
			sb.WriteByte(c)
			lx.i++
		}
	}
	return sb.String()
}

// templatePart reads template text from lx.i up to a closing backtick or a "${".
func (lx *lexer) templatePart(start int, head bool) token {
	src := lx.src
	var sb strings.Builder
	for lx.i < len(src) {
		c := src[lx.i]
		switch {
		case c == '`':
			lx.i++
			if head {
				return token{tokTemplate, sb.String(), start}
			}
			return token{tokTmplTail, sb.String(), start}
		case c == '$' && lx.i+1 < len(src) && src[lx.i+1] == '{':
			lx.i += 2
			lx.braces = append(lx.braces, 0)
			if head {
				return token{tokTmplHead, sb.String(), start}
			}
			return token{tokTmplMid, sb.String(), start}
		case c == '\\' && lx.i+1 < len(src):
			sb.WriteByte(src[lx.i+1])
			lx.i += 2
		default:
			sb.WriteByte(c)
			lx.i++
		}
	}
	if head {
		return token{tokTemplate, sb.String(), start}
	}
	return token{tokTmplTail, sb.String(), start}
}

// regex skips a regular expression literal (with classes and escapes) and its flags.
func (lx *lexer) regex() {
	src := lx.src
	lx.i++
	inClass := false
	for lx.i < len(src) {
		c := src[lx.i]
		switch {
		case c == '\n':
			return
		case c == '\\':
			lx.i += 2
			continue
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case c == '/' && !inClass:
			lx.i++
			for lx.i < len(src) && isIdentPart(src[lx.i]) {
				lx.i++
			}
			return
		}
		lx.i++
	}
}
