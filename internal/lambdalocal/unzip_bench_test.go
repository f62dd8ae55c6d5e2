package lambdalocal

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkUnzip unpacks the zip named by RUDDERCTL_BENCH_ZIP (e.g. a packaged
// rudder-transformer) into a fresh directory per iteration. See docs/BENCHMARKS.md.
func BenchmarkUnzip(b *testing.B) {
	zipPath := os.Getenv("RUDDERCTL_BENCH_ZIP")
	if zipPath == "" {
		b.Skip("set RUDDERCTL_BENCH_ZIP to a Lambda zip to measure unpacking")
	}
	parent := b.TempDir()
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(parent, "root", string(rune('a'+i%26)))
		if err := Unzip(zipPath, dir); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
