package config

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/awsapi"
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
	if *f.Stack != "prod" || f.Region != "eu-west-1" || tc.Runtime != DefaultRuntime || *tc.Memory != DefaultMemory || tc.Environment["LOG_LEVEL"] != "info" || tc.Package.RebuildNative {
		t.Fatalf("parsed %+v", f)
	}
	for _, err := range []error{ValidateRuntime(tc.Runtime), ValidateArch(tc.Arch), ValidateMemory(*tc.Memory), ValidateTimeout(*tc.Timeout), ValidateRetention(*tc.LogRetentionDays), ValidateEnv(tc.Environment)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s, err := f.ResolveECS(); err != nil || s.ImageRef() != DefaultECSImage+":"+DefaultECSTag {
		t.Fatalf("the template's ecs section: %+v, %v", s, err)
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
		"env too big":          ValidateEnv(map[string]string{"XX": strings.Repeat("a", 4000)}),
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

// TestNumericLimits: every numeric setting at 0, at each limit, one past it, and past
// int32 (where a narrowing conversion would wrap 4294967424 to 128).
func TestNumericLimits(t *testing.T) {
	const past32 = int64(1)<<32 + 128 // int32(past32) == 128
	cases := []struct {
		name     string
		check    func(int64) error
		accepted []int64
		refused  []int64
	}{
		{"memory", ValidateMemory[int64], []int64{MinMemory, MaxMemory, DefaultMemory}, []int64{0, MinMemory - 1, MaxMemory + 1, past32, -past32, -1}},
		{"timeout", ValidateTimeout[int64], []int64{MinTimeout, MaxTimeout}, []int64{0, MinTimeout - 1, MaxTimeout + 1, LambdaMaxTimeout, past32 - 128 + 1, -1}},
		{"log_retention_days", ValidateRetention[int64], []int64{1, 3653, 14}, []int64{0, 3654, 2, int64(1)<<32 + 14, -1}},
	}
	for _, c := range cases {
		for _, v := range c.accepted {
			if err := c.check(v); err != nil {
				t.Errorf("%s %d refused: %v", c.name, v, err)
			}
		}
		for _, v := range c.refused {
			err := c.check(v)
			if err == nil {
				t.Errorf("%s %d accepted", c.name, v)
				continue
			}
			if !strings.Contains(err.Error(), strconv.FormatInt(v, 10)) {
				t.Errorf("%s %d: the message does not show the value as given: %v", c.name, v, err)
			}
		}
	}
	if err := ValidateMemory(past32); err == nil || !strings.Contains(err.Error(), "128..10240 MB") {
		t.Errorf("memory past int32: %v", err)
	}
	if err := ValidateTimeout(int64(60)); err == nil || !strings.Contains(err.Error(), "900") {
		t.Errorf("timeout message lacks Lambda's own limit: %v", err)
	}
}

// TestUnsetVersusZero: a key left out is unset (the default applies); `memory: 0` is a
// value (refused later); `memory:` with nothing is refused at once; a number beyond int32
// is kept as written.
func TestUnsetVersusZero(t *testing.T) {
	f, err := Parse([]byte("transformer:\n  runtime: nodejs22.x\n"), "x.yaml")
	if err != nil || f.Transformer.Memory != nil || f.Transformer.Timeout != nil || f.Stack != nil {
		t.Fatalf("unset: %+v %v", f, err)
	}
	f, err = Parse([]byte("stack: \"\"\ntransformer:\n  memory: 0\n  timeout: 4294967297\n"), "x.yaml")
	if err != nil || f.Transformer.Memory == nil || *f.Transformer.Memory != 0 || *f.Transformer.Timeout != 4294967297 || f.Stack == nil || *f.Stack != "" {
		t.Fatalf("zero: %+v %v", f, err)
	}
	for _, doc := range []string{"transformer:\n  memory:\n", "stack:\n", "transformer:\n  package:\n    rebuild_native:\n"} {
		if _, err := Parse([]byte(doc), "x.yaml"); err == nil || !strings.Contains(err.Error(), "has no value") {
			t.Errorf("%q: %v", doc, err)
		}
	}
	// An empty section is fine (everything under it commented out).
	if _, err := Parse([]byte("transformer:\n  # src: x\n"), "x.yaml"); err != nil {
		t.Errorf("empty section: %v", err)
	}
	if _, err := Parse([]byte("transformer:\n  memory: 99999999999999999999999\n"), "x.yaml"); err == nil {
		t.Error("a number beyond int64 was accepted")
	}
}

// TestStackResolution: flag > RUDDERCTL_STACK > config > default; an empty name from any
// of them is refused, never replaced by "default".
func TestStackResolution(t *testing.T) {
	empty, named := "", "cfg"
	withStack := func(s *string) *File { return &File{Stack: s, Path: "rudderctl.yaml"} }
	os.Unsetenv(StackEnv)
	cases := []struct {
		flag    string
		flagSet bool
		env     *string
		file    *File
		want    string // "" = refused
	}{
		{"", false, nil, &File{}, DefaultStack},
		{"", false, nil, nil, DefaultStack},
		{"", false, nil, withStack(&named), "cfg"},
		{"", false, &named, withStack(&empty), "cfg"},
		{"flag", true, &empty, withStack(&empty), "flag"},
		{"", true, nil, withStack(&named), ""},
		{"", false, &empty, withStack(&named), ""},
		{"", false, nil, withStack(&empty), ""},
		{"Bad_Name", true, nil, nil, ""},
	}
	for i, c := range cases {
		if c.env != nil {
			t.Setenv(StackEnv, *c.env)
		} else {
			os.Unsetenv(StackEnv)
		}
		got, err := Stack(c.flag, c.flagSet, c.file)
		if c.want == "" {
			if err == nil {
				t.Errorf("case %d: %q accepted", i, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("case %d: got %q, %v; want %q", i, got, err, c.want)
		}
	}
}

// TestReservedEnvTable: the same table the local cloud's test uses (awsapi.LambdaEnvCases).
func TestReservedEnvTable(t *testing.T) {
	for _, c := range awsapi.LambdaEnvCases() {
		err := ValidateEnv(map[string]string{c.Key: "1"})
		if c.Reserved && err == nil {
			t.Errorf("%s: accepted, but Lambda reserves it", c.Key)
		}
		if !c.Reserved && err != nil {
			t.Errorf("%s: refused, but Lambda accepts it: %v", c.Key, err)
		}
	}
	for _, k := range RudderctlEnv {
		if err := ValidateEnv(map[string]string{k: "1"}); err == nil || !strings.Contains(err.Error(), "rudderctl sets it") {
			t.Errorf("%s: %v", k, err)
		}
	}
	if err := ValidateEnv(map[string]string{"X": "1"}); err == nil {
		t.Error("a one-character key was accepted (Lambda wants at least two)")
	}
}

// TestExampleConfig: examples/rudderctl.yaml parses and validates (it is documentation).
func TestExampleConfig(t *testing.T) {
	f, err := Load("../../examples/rudderctl.yaml", true)
	if err != nil {
		t.Fatal(err)
	}
	tc := f.Transformer
	for _, err := range []error{ValidateMemory(*tc.Memory), ValidateTimeout(*tc.Timeout), ValidateRetention(*tc.LogRetentionDays), ValidateEnv(tc.Environment)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.ResolveECS(); err != nil {
		t.Fatal(err)
	}
}
