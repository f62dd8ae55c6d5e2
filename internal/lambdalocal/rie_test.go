package lambdalocal

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testenv"
)

// The emulator built outside the source tree must be the one go.mod pins.
func TestRIEVersionMatchesGoMod(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), rieModule+" "+rieVersion) {
		t.Errorf("go.mod does not require %s %s: update rieVersion in rie.go with go.mod", rieModule, rieVersion)
	}
}

func TestResolveRIE(t *testing.T) {
	t.Setenv("RUDDERCTL_RIE", "/nonexistent/aws-lambda-rie")
	if _, err := ResolveRIE(context.Background()); err == nil || !strings.Contains(err.Error(), "RUDDERCTL_RIE") {
		t.Errorf("bad RUDDERCTL_RIE: %v", err)
	}
	t.Setenv("RUDDERCTL_RIE", "")
	p, err := ResolveRIE(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "aws-lambda-rie" {
		t.Errorf("ResolveRIE = %s", p)
	}
}

func TestInstallRIEOutsideTheTree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the emulator")
	}
	goBin := testenv.LookPath(t, "go", "builds the emulator")
	t.Setenv("RUDDERCTL_CACHE", t.TempDir())
	p, err := installRIE(context.Background(), goBin)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goBin, "version", "-m", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), rieModule) || !strings.Contains(string(out), rieVersion) {
		t.Errorf("go version -m %s: %v %s", p, err, out)
	}
	if again, err := installRIE(context.Background(), goBin); err != nil || again != p {
		t.Errorf("second install: %s %v", again, err)
	}
}
