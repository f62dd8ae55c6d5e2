package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// zeroZip writes a zip with one entry of n zero bytes whose headers declare claim bytes
// (claim = n for an honest header).
func zeroZip(t *testing.T, n int64, claim uint64) string {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	crc := crc32.NewIEEE()
	if _, err := io.Copy(io.MultiWriter(fw, crc), io.LimitReader(zeroReader{}, n)); err != nil {
		t.Fatal(err)
	}
	fw.Close()
	p := filepath.Join(t.TempDir(), "bomb.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "bomb.bin", Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: claim})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(comp.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// `invoke --local` with a zip bomb is refused by Lambda's 250 MB unzipped limit and leaves
// nothing in TMPDIR (it once wrote ~2 GB first).
func TestInvokeLocalRefusesZipBomb(t *testing.T) {
	const over = 300 << 20
	for name, zipPath := range map[string]string{
		"honest header": zeroZip(t, over, over),
		"lying header":  zeroZip(t, over, 1000),
	} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			app := &cli.App{Name: "rudderctl", Writer: io.Discard, ErrWriter: io.Discard, Commands: []*cli.Command{invokeCommand()},
				ExitErrHandler: func(*cli.Context, error) {}}
			err := app.RunContext(context.Background(), []string{"rudderctl", "invoke", "transformer", "--local", "--quiet", "--zip", zipPath})
			if err == nil || !(strings.Contains(err.Error(), "250 MB") || strings.Contains(err.Error(), "does not match its header")) {
				t.Fatalf("invoke --local with a zip bomb: %v", err)
			}
			t.Log(err)
			left, _ := os.ReadDir(tmp)
			if len(left) > 0 {
				t.Errorf("left in TMPDIR: %v", left)
			}
		})
	}
}
