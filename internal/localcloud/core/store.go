package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// legacyStateFile is the one document the local cloud kept all control-plane state in
// before each room kept its own. A room that has not written its document yet reads its
// fields from there (the room documents use the same field names), so an old state dir
// loads unchanged; once every room has saved, Close removes it.
const legacyStateFile = "state.json"

// Path is a path inside the state dir.
func (c *Cloud) Path(elem ...string) string {
	return filepath.Join(append([]string{c.stateDir}, elem...)...)
}

// LoadDoc reads a room's document STATE/<file> into v. legacy: when the file is not there,
// read v from the old state.json instead. A missing document leaves v as it is.
func (c *Cloud) LoadDoc(file string, v any, legacy bool) error {
	path := c.Path(file)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && legacy {
		path = c.Path(legacyStateFile)
		b, err = os.ReadFile(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("localcloud: read state: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("localcloud: state %s is damaged (%v); move it away to start empty", path, err)
	}
	return nil
}

// SaveDoc writes a room's document STATE/<file> atomically (temp file + rename).
func (c *Cloud) SaveDoc(file string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return WriteFileAtomic(c.Path(file), b)
}

// CommitDoc saves a room's document after a change; a failed save is logged, not
// returned, since the change has already happened in memory.
func (c *Cloud) CommitDoc(file string, v any) {
	if err := c.SaveDoc(file, v); err != nil {
		c.Logf("save state %s: %v", file, err)
	}
}

// saveAll saves every room; when all succeeded the legacy state.json is obsolete.
func (c *Cloud) saveAll() error {
	var first error
	for _, r := range c.rooms {
		if err := r.Save(); err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		_ = os.Remove(c.Path(legacyStateFile))
	}
	return first
}

// WriteFileAtomic writes through a temporary sibling and a rename, so a reader (or a crash)
// never sees half a file.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
