package lambda

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// outputTail passes the app's output through to the bootstrap's own stdout/stderr (Lambda logs
// them) and keeps the last lines so an init failure or a crash can say what the app printed.
type outputTail struct {
	mu      sync.Mutex
	lines   []string // ring
	next    int
	full    bool
	partial map[io.Writer][]byte // an unfinished line per stream
}

const (
	tailLines   = 20
	maxLineKept = 2048 // longer lines are cut in the tail (never in the pass-through)
)

func newOutputTail() *outputTail {
	return &outputTail{lines: make([]string, tailLines), partial: map[io.Writer][]byte{}}
}

// writer returns an io.Writer for one stream of the app that copies to dst.
func (t *outputTail) writer(dst io.Writer) io.Writer { return &tailWriter{t: t, dst: dst} }

type tailWriter struct {
	t   *outputTail
	dst io.Writer
}

func (w *tailWriter) Write(p []byte) (int, error) {
	// A broken log pipe must not stall or kill the app, so write errors are ignored.
	_, _ = w.dst.Write(p)
	w.t.add(w, p)
	return len(p), nil
}

func (t *outputTail) add(stream io.Writer, p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	buf := t.partial[stream]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			buf = appendCapped(buf, p)
			break
		}
		buf = appendCapped(buf, p[:i])
		t.push(string(bytes.TrimRight(buf, "\r")))
		buf = buf[:0]
		p = p[i+1:]
	}
	t.partial[stream] = buf
}

func appendCapped(buf, p []byte) []byte {
	if room := maxLineKept - len(buf); room < len(p) {
		p = p[:max(room, 0)]
	}
	return append(buf, p...)
}

func (t *outputTail) push(line string) {
	t.lines[t.next] = line
	t.next = (t.next + 1) % len(t.lines)
	if t.next == 0 {
		t.full = true
	}
}

// Lines returns the last lines the app printed (stdout and stderr interleaved), oldest first,
// including an unfinished last line.
func (t *outputTail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	if t.full {
		out = append(out, t.lines[t.next:]...)
	}
	out = append(out, t.lines[:t.next]...)
	for _, p := range t.partial {
		if len(p) > 0 {
			out = append(out, string(p))
		}
	}
	if len(out) > tailLines {
		out = out[len(out)-tailLines:]
	}
	return out
}

// describe formats the tail for an error message.
func (t *outputTail) describe() string {
	lines := t.Lines()
	if len(lines) == 0 {
		return "the app printed nothing"
	}
	return "last lines the app printed:\n  " + strings.Join(lines, "\n  ")
}
