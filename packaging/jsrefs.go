package packaging

import (
	"bytes"
	"strings"
)

// refKind says how much of a module reference is known before run time.
type refKind uint8

const (
	refStatic  refKind = iota // require('x'), import ... from 'x'
	refPattern                // require(`../${v}/transform`), require('./lang/' + l)
	refDynamic                // require(name): nothing static to go on
)

// part is one piece of a pattern: a literal, an unknown run of characters, or __dirname.
type part struct {
	lit     string
	wild    bool
	dirname bool
}

// moduleRef is one module reference found in a file.
type moduleRef struct {
	kind  refKind
	spec  string // refStatic
	parts []part // refPattern
	expr  string // the argument as written, for reports
	pos   int    // byte offset, for the line number in reports
}

const maxArgTokens = 4000

// scanRefs finds the module references in JavaScript source: require('x'),
// require.resolve('x'), import ... from 'x', import 'x', import('x'), export ... from 'x'.
// Comments, strings, template text and regular expressions are skipped by the lexer, so a
// require inside them is not a reference.
func scanRefs(src []byte) []moduleRef {
	lx := newLexer(src)
	var refs []moduleRef
	var prev token
	for {
		t := lx.next()
		if t.kind == tokEOF {
			return refs
		}
		if t.kind == tokIdent && !(prev.kind == tokPunct && prev.val == ".") {
			switch t.val {
			case "require":
				if prev.kind == tokIdent && prev.val == "function" {
					break
				}
				n := lx.next()
				if n.kind == tokPunct && n.val == "." {
					if m := lx.next(); m.kind != tokIdent || m.val != "resolve" {
						break
					}
					n = lx.next()
				}
				if n.kind == tokPunct && n.val == "(" {
					if r, ok := callArg(lx, src); ok {
						refs = append(refs, r)
					}
				}
			case "import":
				n := lx.next()
				switch {
				case n.kind == tokPunct && n.val == "(":
					if r, ok := callArg(lx, src); ok {
						refs = append(refs, r)
					}
				case n.kind == tokString:
					refs = append(refs, moduleRef{kind: refStatic, spec: n.val, pos: n.pos})
				case n.kind == tokIdent || n.kind == tokPunct && (n.val == "{" || n.val == "*"):
					if r, ok := fromClause(lx, n); ok {
						refs = append(refs, r)
					}
				}
			case "export":
				if n := lx.next(); n.kind == tokPunct && (n.val == "{" || n.val == "*") {
					if r, ok := fromClause(lx, n); ok {
						refs = append(refs, r)
					}
				}
			}
		}
		prev = lx.prev
	}
}

// fromClause reads the rest of an import/export clause (first is its first token) up to
// `from 'x'`. It gives up at anything that cannot be in such a clause.
func fromClause(lx *lexer, first token) (moduleRef, bool) {
	t := first
	for n := 0; n < 400; n++ {
		switch {
		case t.kind == tokIdent && t.val == "from":
			if s := lx.next(); s.kind == tokString {
				return moduleRef{kind: refStatic, spec: s.val, pos: s.pos}, true
			}
			return moduleRef{}, false
		case t.kind == tokIdent:
		case t.kind == tokPunct && strings.Contains("{},*", t.val):
		default:
			return moduleRef{}, false
		}
		t = lx.next()
	}
	return moduleRef{}, false
}

// callArg reads the arguments of a call whose "(" was just read, up to the matching ")",
// and classifies the first one.
func callArg(lx *lexer, src []byte) (moduleRef, bool) {
	var arg []token
	depth, tmpl := 0, 0
	first := true
	start, end := lx.i, lx.i
	for n := 0; ; n++ {
		t := lx.next()
		if t.kind == tokEOF || n > maxArgTokens {
			return moduleRef{}, false
		}
		switch {
		case t.kind == tokTmplHead:
			tmpl++
		case t.kind == tokTmplTail:
			tmpl--
		case t.kind == tokPunct && depth == 0 && tmpl == 0 && (t.val == ")" || t.val == ","):
			if first {
				end = t.pos
			}
			first = false
			if t.val == ")" {
				return classifyArg(arg, strings.TrimSpace(string(src[start:end])), start)
			}
			continue
		case t.kind == tokPunct && strings.Contains("([{", t.val):
			depth++
		case t.kind == tokPunct && strings.Contains(")]}", t.val):
			depth--
		}
		if first {
			arg = append(arg, t)
		}
	}
}

// classifyArg turns the tokens of a specifier argument into a reference.
func classifyArg(arg []token, expr string, pos int) (moduleRef, bool) {
	if len(expr) > 160 {
		expr = expr[:157] + "..."
	}
	if len(arg) == 0 {
		return moduleRef{}, false // require(): nothing to load
	}
	var parts []part
	for _, op := range splitTop(arg, "+") {
		parts = append(parts, operandParts(op)...)
	}
	parts = mergeParts(parts)
	static, hasLit := true, false
	var sb strings.Builder
	for _, p := range parts {
		switch {
		case p.wild, p.dirname:
			static = false
			hasLit = hasLit || p.dirname
		default:
			sb.WriteString(p.lit)
			hasLit = hasLit || p.lit != ""
		}
	}
	switch {
	case static:
		return moduleRef{kind: refStatic, spec: sb.String(), expr: expr, pos: pos}, true
	case hasLit:
		return moduleRef{kind: refPattern, parts: parts, expr: expr, pos: pos}, true
	}
	return moduleRef{kind: refDynamic, expr: expr, pos: pos}, true
}

// splitTop splits tokens at a punctuator outside brackets and template substitutions.
func splitTop(ts []token, sep string) [][]token {
	var out [][]token
	depth, tmpl, from := 0, 0, 0
	for i, t := range ts {
		switch {
		case t.kind == tokTmplHead:
			tmpl++
		case t.kind == tokTmplTail:
			tmpl--
		case t.kind == tokPunct && strings.Contains("([{", t.val):
			depth++
		case t.kind == tokPunct && strings.Contains(")]}", t.val):
			depth--
		case t.kind == tokPunct && t.val == sep && depth == 0 && tmpl == 0:
			out = append(out, ts[from:i])
			from = i + 1
		}
	}
	return append(out, ts[from:])
}

// operandParts reads one operand of a concatenation: a string, a template literal,
// __dirname, path.join/resolve(...) of those, or anything else (unknown).
func operandParts(op []token) []part {
	wild := []part{{wild: true}}
	switch {
	case len(op) == 1 && (op[0].kind == tokString || op[0].kind == tokTemplate):
		return []part{{lit: op[0].val}}
	case len(op) == 1 && op[0].kind == tokIdent && op[0].val == "__dirname":
		return []part{{dirname: true}}
	case len(op) >= 2 && op[0].kind == tokTmplHead && op[len(op)-1].kind == tokTmplTail:
		var ps []part
		depth := 0
		for _, t := range op {
			switch t.kind {
			case tokTmplHead:
				if depth == 0 {
					ps = append(ps, part{lit: t.val}, part{wild: true})
				}
				depth++
			case tokTmplMid:
				if depth == 1 {
					ps = append(ps, part{lit: t.val}, part{wild: true})
				}
			case tokTmplTail:
				depth--
				if depth == 0 {
					ps = append(ps, part{lit: t.val})
				}
			}
		}
		return ps
	case len(op) >= 5 && op[0].kind == tokIdent && op[0].val == "path" && op[1].val == "." &&
		(op[2].val == "join" || op[2].val == "resolve") && op[3].val == "(" && op[len(op)-1].val == ")":
		var ps []part
		for i, a := range splitTop(op[4:len(op)-1], ",") {
			if i > 0 {
				ps = append(ps, part{lit: "/"})
			}
			ps = append(ps, operandParts(a)...)
		}
		return ps
	}
	return wild
}

// mergeParts joins adjacent literals and adjacent unknowns.
func mergeParts(ps []part) []part {
	var out []part
	for _, p := range ps {
		if p.lit == "" && !p.wild && !p.dirname {
			continue
		}
		if n := len(out); n > 0 {
			last := &out[n-1]
			switch {
			case p.wild && last.wild:
				continue
			case !p.wild && !p.dirname && !last.wild && !last.dirname:
				last.lit += p.lit
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// lineOf is the 1-based line of a byte offset.
func lineOf(src []byte, pos int) int {
	if pos > len(src) {
		pos = len(src)
	}
	return bytes.Count(src[:pos], []byte{'\n'}) + 1
}
