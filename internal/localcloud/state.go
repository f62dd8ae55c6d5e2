package localcloud

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

const (
	stateFile = "state.json"
	logsFile  = "logs.json"
)

// state is everything the cloud remembers; it is saved as one JSON document.
type state struct {
	Roles     map[string]*roleRec     `json:"roles"`
	Functions map[string]*functionRec `json:"functions"`
	APIs      map[string]*apiRec      `json:"apis"`
	Buckets   map[string]*bucketRec   `json:"buckets"`
	LogGroups map[string]*logGroupRec `json:"-"`     // kept in logs.json, saved on its own schedule
	Ports     map[string]int          `json:"ports"` // API id -> stage port
	Seq       int64                   `json:"seq"`   // for log event ids and other counters
}

func newState() *state {
	return &state{
		Roles:     map[string]*roleRec{},
		Functions: map[string]*functionRec{},
		APIs:      map[string]*apiRec{},
		Buckets:   map[string]*bucketRec{},
		LogGroups: map[string]*logGroupRec{},
		Ports:     map[string]int{},
	}
}

func loadState(dir string) (*state, error) {
	st := newState()
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("localcloud: read state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("localcloud: state %s is damaged (%v); move it away to start empty", filepath.Join(dir, stateFile), err)
	}
	if lb, err := os.ReadFile(filepath.Join(dir, logsFile)); err == nil {
		if err := json.Unmarshal(lb, &st.LogGroups); err != nil {
			return nil, fmt.Errorf("localcloud: logs %s are damaged (%v); move the file away to start without logs", filepath.Join(dir, logsFile), err)
		}
	}
	if st.Roles == nil {
		st.Roles = map[string]*roleRec{}
	}
	if st.Functions == nil {
		st.Functions = map[string]*functionRec{}
	}
	if st.APIs == nil {
		st.APIs = map[string]*apiRec{}
	}
	if st.Buckets == nil {
		st.Buckets = map[string]*bucketRec{}
	}
	for _, b := range st.Buckets {
		if b.Objects == nil {
			b.Objects = map[string]*objectRec{}
		}
	}
	if st.LogGroups == nil {
		st.LogGroups = map[string]*logGroupRec{}
	}
	if st.Ports == nil {
		st.Ports = map[string]int{}
	}
	for _, f := range st.Functions {
		f.fixup()
	}
	for _, a := range st.APIs {
		a.fixup()
	}
	for _, g := range st.LogGroups {
		for _, s := range g.Streams {
			for _, e := range s.Events {
				st.Seq = max(st.Seq, e.ID)
			}
		}
		if g.Streams == nil {
			g.Streams = map[string]*logStreamRec{}
		}
		if g.Tags == nil {
			g.Tags = map[string]string{}
		}
	}
	return st, nil
}

// saveLocked writes the control-plane state, and the log groups when they changed,
// atomically (temp file + rename). c.mu must be held.
func (c *Cloud) saveLocked() error {
	b, err := json.Marshal(c.st)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(c.stateDir, stateFile), b); err != nil {
		return err
	}
	return c.saveLogsLocked()
}

// saveLogsLocked writes logs.json if log groups or events changed. c.mu must be held.
func (c *Cloud) saveLogsLocked() error {
	if !c.dirty {
		return nil
	}
	b, err := json.Marshal(c.st.LogGroups)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(c.stateDir, logsFile), b); err != nil {
		return err
	}
	c.dirty = false
	return nil
}

// commitLocked saves after a control-plane change; a failed save is logged, not returned,
// since the change has already happened in memory.
func (c *Cloud) commitLocked() {
	if err := c.saveLocked(); err != nil {
		c.logf("save state: %v", err)
	}
	// New code is unpacked now, not on its first invocation.
	c.exec.tasks.prepare(c.codeInUseLocked())
}

func (c *Cloud) nextSeq() int64 {
	c.st.Seq++
	return c.st.Seq
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
