package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestInitGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rudderctl.yaml")
	if err := WriteTemplate(path, "prod", "eu-west-1", false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	golden := filepath.Join("testdata", "init.golden.yaml")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("init output differs from %s (go test -update to accept):\n%s", golden, got)
	}
	// The template parses with KnownFields and validates.
	f, err := Load(path, true)
	if err != nil {
		t.Fatal(err)
	}
	tc := f.Transformer
	if f.Stack != "prod" || f.Region != "eu-west-1" || tc.Runtime != DefaultRuntime || tc.Memory != DefaultMemory || tc.Environment["LOG_LEVEL"] != "info" {
		t.Fatalf("parsed %+v", f)
	}
	for _, err := range []error{ValidateRuntime(tc.Runtime), ValidateArch(tc.Arch), ValidateMemory(tc.Memory), ValidateTimeout(tc.Timeout), ValidateRetention(tc.LogRetentionDays), ValidateEnv(tc.Environment)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Refuse to overwrite without force.
	if err := WriteTemplate(path, "", "", false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite: %v", err)
	}
	if err := WriteTemplate(path, "", "", true); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownKey(t *testing.T) {
	_, err := Parse([]byte("stack: a\ntransformer:\n  memroy: 128\n"), "x.yaml")
	if err == nil || !strings.Contains(err.Error(), `"memroy" on line 3`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Parse([]byte(""), "x.yaml"); err != nil {
		t.Fatalf("empty doc: %v", err)
	}
	if _, err := Parse([]byte("stack: [\n"), "x.yaml"); err == nil {
		t.Fatal("bad yaml accepted")
	}
}

func TestValidation(t *testing.T) {
	bad := map[string]error{
		"runtime nodejs20.x":   ValidateRuntime("nodejs20.x"),
		"arch amd64":           ValidateArch("amd64"),
		"memory 64":            ValidateMemory(64),
		"memory 20000":         ValidateMemory(20000),
		"timeout 0":            ValidateTimeout(0),
		"timeout 31":           ValidateTimeout(31),
		"retention 2":          ValidateRetention(2),
		"stack Upper":          ValidateStack("Upper"),
		"stack trailing dash":  ValidateStack("a-"),
		"region empty":         ValidateRegion(""),
		"region shape":         ValidateRegion("europe"),
		"env reserved":         ValidateEnv(map[string]string{"RUDDERCTL_PATH_PREFIX": "x"}),
		"env bad key":          ValidateEnv(map[string]string{"1X": "x"}),
		"env too big":          ValidateEnv(map[string]string{"X": strings.Repeat("a", 4000)}),
		"env wrapper reserved": ValidateEnv(map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "x"}),
	}
	for name, err := range bad {
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		// what happened: why; what to do
		if !strings.Contains(err.Error(), ":") || !strings.Contains(err.Error(), ";") {
			t.Errorf("%s: error not in the what: why; what-to-do form: %v", name, err)
		}
	}
	for _, err := range []error{ValidateRuntime("nodejs24.x"), ValidateArch("arm64"), ValidateMemory(128), ValidateMemory(10240),
		ValidateTimeout(30), ValidateStack("prod-1"), ValidateRegion("us-east-1"), ValidateEnv(map[string]string{"LOG_LEVEL": "info"})} {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestRegionOrder(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "us-west-2")
	f := &File{}
	if r := Region("", f); r != "us-west-2" {
		t.Fatal(r)
	}
	f.Region = "eu-west-1"
	if r := Region("", f); r != "eu-west-1" {
		t.Fatal(r)
	}
	if r := Region("ap-south-1", f); r != "ap-south-1" {
		t.Fatal(r)
	}
}

func TestResolveRelative(t *testing.T) {
	f := &File{Path: "/etc/x/rudderctl.yaml"}
	if got := f.Resolve("t.zip"); got != "/etc/x/t.zip" {
		t.Fatal(got)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml"), true); err == nil {
		t.Fatal("missing explicit config accepted")
	}
	if f, err := Load(filepath.Join(t.TempDir(), "none.yaml"), false); err != nil || f.Path != "" {
		t.Fatal("missing implicit config should be empty")
	}
}
