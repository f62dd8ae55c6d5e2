package packaging

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"io"
	"os"
	"runtime"
)

// Every entry carries this MS-DOS timestamp: 1980-01-01 00:00:00, the earliest a zip can
// hold, so the bytes do not depend on when or where files were built.
const (
	dosDate = 1<<5 | 1 // (1980-1980)<<9 | month 1<<5 | day 1
	dosTime = 0
)

// compressed is one entry ready to be written.
type compressed struct {
	hdr  zip.FileHeader
	data []byte
	err  error
}

// writeZip writes entries (already sorted, pruned ones skipped) to w deterministically:
// names in order, fixed timestamp, mode 0755 for executables else 0644, no extra fields,
// deflate at best compression (stored when that does not shrink). Entries are compressed
// in parallel and written in order.
func writeZip(w io.Writer, files []*entry) error {
	zw := zip.NewWriter(w)
	workers := runtime.NumCPU()
	if workers > 4 {
		workers = 4
	}
	// A window of in-flight entries keeps memory bounded.
	window := make(chan chan compressed, workers*4)
	go func() {
		defer close(window)
		sem := make(chan struct{}, workers)
		for _, f := range files {
			ch := make(chan compressed, 1)
			window <- ch
			sem <- struct{}{}
			go func(f *entry) {
				defer func() { <-sem }()
				ch <- compressEntry(f)
			}(f)
		}
	}()
	var firstErr error
	for ch := range window {
		c := <-ch
		if firstErr != nil {
			continue
		}
		if c.err != nil {
			firstErr = c.err
			continue
		}
		h := c.hdr
		zf, err := zw.CreateRaw(&h)
		if err != nil {
			firstErr = err
			continue
		}
		if _, err := zf.Write(c.data); err != nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return zw.Close()
}

func compressEntry(f *entry) compressed {
	var c compressed
	data := f.Data
	if data == nil {
		b, err := os.ReadFile(f.Src)
		if err != nil {
			c.err = err
			return c
		}
		data = b
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(data)
	fw.Close()
	h := zip.FileHeader{
		Name:               f.Rel,
		CRC32:              crc32.ChecksumIEEE(data),
		UncompressedSize64: uint64(len(data)),
		ModifiedDate:       dosDate,
		ModifiedTime:       dosTime,
	}
	mode := os.FileMode(0o644)
	if f.Exec {
		mode = 0o755
	}
	h.SetMode(mode)
	h.CreatorVersion = 3<<8 | 20 // Unix, zip 2.0
	h.ReaderVersion = 20
	if buf.Len() < len(data) {
		h.Method = zip.Deflate
		c.data = buf.Bytes()
	} else {
		h.Method = zip.Store
		c.data = data
	}
	h.CompressedSize64 = uint64(len(c.data))
	c.hdr = h
	return c
}

// hashFile returns the hex SHA-256 of a file and Lambda's CodeSha256 (base64 of the same).
func hashFile(p string) (hexSum, b64 string, size int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return "", "", 0, err
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum), base64.StdEncoding.EncodeToString(sum), size, nil
}
