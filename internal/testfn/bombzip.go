package testfn

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BombEntry is one zip entry of N zero bytes. Claim, when not 0, is the uncompressed size its
// headers declare instead (a lying header).
type BombEntry struct {
	Name  string
	N     int64
	Claim uint64
}

// WriteBombZip writes a zip of highly compressible entries, for tests of unzip limits. A lying
// entry is stored precompressed (CreateRaw) so that its headers can declare any size.
func WriteBombZip(t testing.TB, entries ...BombEntry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bomb.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, e := range entries {
		if err := writeBombEntry(zw, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeBombEntry(zw *zip.Writer, e BombEntry) error {
	zeros := io.LimitReader(zeroReader{}, e.N)
	if e.Claim == 0 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Deflate})
		if err != nil {
			return err
		}
		_, err = io.Copy(w, zeros)
		return err
	}
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	crc := crc32.NewIEEE()
	if _, err := io.Copy(io.MultiWriter(fw, crc), zeros); err != nil {
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: e.Name, Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: e.Claim})
	if err != nil {
		return err
	}
	_, err = w.Write(comp.Bytes())
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
