package packaging

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// condvarWait is std::condition_variable::wait(std::unique_lock<std::mutex>&): GCC 12's
// libstdc++ (Debian 12) binds it to GLIBCXX_3.4.30 by default, GCC 11's (AL2023) lacks
// that version but has GLIBCXX_3.4.11.
const condvarWait = "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE"

// needTools skips when a build tool is missing, except under CI where it fails: CI must
// run these tests.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		msg := "native build tests assume a linux/amd64 host with glibc"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not on PATH: install it (Debian: apt-get install build-essential python3 npm binutils) to run this test"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// premiseFails stops a test whose fixture needs this machine to be like Debian 12: a
// skip on a developer's machine, a failure under CI.
func premiseFails(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// compileShared builds a real shared object from C++ source with this machine's g++.
func compileShared(t *testing.T, dir, name, src string, extra ...string) string {
	t.Helper()
	c := filepath.Join(dir, name+".cc")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	args := append([]string{"-shared", "-fPIC", "-O2", "-o", out, c}, extra...)
	if b, err := exec.Command("g++", args...).CombinedOutput(); err != nil {
		t.Fatalf("g++ %s: %v\n%s", name, err, b)
	}
	return out
}

const condvarSrc = `#include <condition_variable>
#include <mutex>
static std::mutex m; static std::condition_variable cv; static bool ready = false;
extern "C" void wait_ready() { std::unique_lock<std::mutex> l(m); cv.wait(l, [] { return ready; }); }
extern "C" void node_register_module_v127(void) {}
`

// plainCondvarModule compiles condvarSrc plainly; it fails the test when this machine's
// libstdc++ would not bind a too-new version (the premise of the tests using it).
func plainCondvarModule(t *testing.T) string {
	t.Helper()
	needTools(t, "g++")
	p := compileShared(t, t.TempDir(), "plain.node", condvarSrc)
	if v := importedVersion(t, p, condvarWait); v != "GLIBCXX_3.4.30" {
		premiseFails(t, "this machine's g++ binds std::condition_variable::wait to "+v+", not GLIBCXX_3.4.30 (GCC 12, Debian 12): the fixture proves nothing here")
	}
	return p
}

// importedVersion is the version a module binds an imported symbol to ("" if not imported).
func importedVersion(t *testing.T, p, sym string) string {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	imps, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range imps {
		if s.Name == sym {
			return s.Version
		}
	}
	return ""
}

// objdumpVersion asks binutils (not our ELF reader) which version a module binds sym to.
func objdumpVersion(t *testing.T, p, sym string) string {
	t.Helper()
	needTools(t, "objdump")
	out, err := exec.Command("objdump", "-T", p).Output()
	if err != nil {
		t.Fatalf("objdump -T %s: %v", p, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[len(f)-1] == sym && strings.Contains(line, "*UND*") {
			return strings.Trim(f[len(f)-2], "()")
		}
	}
	return ""
}

func TestCheckNativeRefusesTooNewLibstdcxx(t *testing.T) {
	p := plainCondvarModule(t)
	_, probs, _, err := CheckNative(p, "node_modules/x/build/Release/x.node", "x86_64", 127)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(probs, "\n")
	t.Log(got)
	for _, want := range []string{"GLIBCXX_3.4.30", "libstdc++.so.6", condvarWait, "GLIBCXX_3.4.29"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q do not name %q", got, want)
		}
	}
	// CXXABI_1.3.9 and friends are within AL2023's CXXABI_1.3.13: not blamed.
	if strings.Contains(got, "CXXABI") {
		t.Errorf("problems blame CXXABI: %q", got)
	}
}

func TestCheckNativeRefusesTooNewGlibc(t *testing.T) {
	needTools(t, "g++")
	p := compileShared(t, t.TempDir(), "arc.node", `#include <stdlib.h>
extern "C" unsigned r() { return arc4random(); }
extern "C" void node_register_module_v127(void) {}
`)
	if v := importedVersion(t, p, "arc4random"); v != "GLIBC_2.36" {
		premiseFails(t, "this machine's glibc binds arc4random to "+v+", not GLIBC_2.36 (Debian 12): the fixture proves nothing here")
	}
	_, probs, _, _ := CheckNative(p, "x.node", "x86_64", 127)
	if got := strings.Join(probs, "\n"); !strings.Contains(got, "arc4random (GLIBC_2.36)") || !strings.Contains(got, "GLIBC_2.34") {
		t.Fatalf("problems %q", got)
	}
	// No older arc4random exists: it cannot be pinned, and the plan says so.
	f, _ := elf.Open(p)
	needs, _ := tooNewImports(f)
	f.Close()
	pins, unpinnable, err := planPins(needs)
	if err != nil || len(pins) != 0 || len(unpinnable) != 1 || unpinnable[0].Name != "arc4random" {
		t.Fatalf("pins %v unpinnable %v err %v", pins, unpinnable, err)
	}
}

// TestPinHeaderBindsOldVersion plans pins from a plainly built module, compiles the same
// source with the header force-included, and checks with objdump that it binds the old
// version and passes the check.
func TestPinHeaderBindsOldVersion(t *testing.T) {
	plain := plainCondvarModule(t)
	f, err := elf.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	needs, err := tooNewImports(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pins, unpinnable, err := planPins(needs)
	if err != nil || len(unpinnable) > 0 {
		t.Fatalf("planPins: %v, unpinnable %v", err, unpinnable)
	}
	if len(pins) != 1 || pins[0].Name != condvarWait || pins[0].From != "GLIBCXX_3.4.30" || pins[0].To != "GLIBCXX_3.4.11" {
		t.Fatalf("pins %+v", pins)
	}
	dir := t.TempDir()
	hdr := filepath.Join(dir, "pins.h")
	if err := os.WriteFile(hdr, pinHeader(pins), 0o644); err != nil {
		t.Fatal(err)
	}
	pinned := compileShared(t, dir, "pinned.node", condvarSrc, "-include", hdr)
	if v := objdumpVersion(t, pinned, condvarWait); v != "GLIBCXX_3.4.11" {
		t.Fatalf("objdump: pinned module binds %s to %q", condvarWait, v)
	}
	if _, probs, _, _ := CheckNative(pinned, "x.node", "x86_64", 127); len(probs) > 0 {
		t.Fatalf("pinned module still refused: %v", probs)
	}
}

// TestBuildRefusesTooNewLibstdcxx: a module compiled plainly here (GLIBCXX_3.4.30) stops
// the build, naming the file, the symbol and --rebuild-native; nothing is written.
func TestBuildRefusesTooNewLibstdcxx(t *testing.T) {
	fx := needNativeFixtures(t)
	mod := plainCondvarModule(t)
	src := t.TempDir()
	writeFile(t, src, "package.json", `{"name":"app","main":"index.js"}`, 0o644)
	writeFile(t, src, "index.js", `require("tiny")`, 0o644)
	writeFile(t, src, "node_modules/tiny/package.json", `{"name":"tiny","version":"1.0.0","main":"build/Release/tiny.node"}`, 0o644)
	copyFile(t, mod, filepath.Join(src, "node_modules/tiny/build/Release/tiny.node"))
	out := filepath.Join(t.TempDir(), "app.zip")
	_, err := Build(context.Background(), Options{Src: src, Out: out, Bootstrap: filepath.Join(fx, "bootstrap")})
	if err == nil {
		t.Fatal("a module needing GLIBCXX_3.4.30 was packaged")
	}
	for _, want := range []string{"node_modules/tiny/build/Release/tiny.node", "GLIBCXX_3.4.30", condvarWait, "--rebuild-native"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
	if _, serr := os.Stat(out); serr == nil {
		t.Error("the zip was written despite the error")
	}
}

// TestGypPackages finds installed packages with a binding.gyp, not examples inside them
// nor copies in build/.
func TestGypPackages(t *testing.T) {
	nm := filepath.Join(t.TempDir(), "node_modules")
	for _, d := range []string{"ivm", "ivm/native-example", "@s/b", "ivm/node_modules/c"} {
		writeFile(t, nm, d+"/package.json", `{"name":"`+filepath.Base(d)+`"}`, 0o644)
		writeFile(t, nm, d+"/binding.gyp", `{}`, 0o644)
	}
	writeFile(t, nm, "ivm/build/binding.gyp", `{}`, 0o644)
	writeFile(t, nm, "plain/package.json", `{"name":"plain"}`, 0o644)
	pkgs, err := gypPackages(nm)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, rel(nm, p.Dir)+"="+p.Name)
	}
	if want := "@s/b=b ivm=ivm ivm/node_modules/c=c"; strings.Join(got, " ") != want {
		t.Fatalf("gyp packages %q, want %q", strings.Join(got, " "), want)
	}
}
