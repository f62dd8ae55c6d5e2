package packaging

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/nodedist"
)

// Amazon Linux 2023 (the nodejs22.x and nodejs24.x runtimes) ships glibc 2.34 and the
// libstdc++ of GCC 11 (GLIBCXX_3.4.29, CXXABI_1.3.13).
const (
	MaxGLIBC   = "2.34"
	MaxGLIBCXX = "3.4.29"
	MaxCXXABI  = "1.3.13"
)

const ruleForeignPrebuild = "prebuilds for other platforms"

// ELFInfo is what the native check learns from a .node file.
type ELFInfo struct {
	Machine elf.Machine
	ABI     int  // N of an exported node_register_module_vN; 0 if none
	NAPI    bool // exports napi_register_module_v1
	GLIBC   string
	GLIBCXX string
	CXXABI  string
	Musl    bool // linked against musl libc
	// TooNew are the imports bound to a GLIBC/GLIBCXX/CXXABI version newer than
	// Amazon Linux 2023 has.
	TooNew []SymbolNeed
}

// InspectELF reads a .node file.
func InspectELF(p string) (ELFInfo, error) {
	var in ELFInfo
	f, err := elf.Open(p)
	if err != nil {
		return in, err
	}
	defer f.Close()
	in.Machine = f.Machine
	syms, err := f.DynamicSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return in, err
	}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF {
			continue
		}
		if n, ok := strings.CutPrefix(s.Name, "node_register_module_v"); ok {
			if v, err := strconv.Atoi(n); err == nil {
				in.ABI = v
			}
		}
		if s.Name == "napi_register_module_v1" {
			in.NAPI = true
		}
	}
	libs, _ := f.ImportedLibraries()
	for _, l := range libs {
		if strings.Contains(l, "musl") {
			in.Musl = true
		}
	}
	needs, _ := f.DynamicVersionNeeds()
	for _, n := range needs {
		for _, d := range n.Needs {
			if v, ok := strings.CutPrefix(d.Dep, "GLIBC_"); ok && versionLess(in.GLIBC, v) {
				in.GLIBC = v
			}
			if v, ok := strings.CutPrefix(d.Dep, "GLIBCXX_"); ok && versionLess(in.GLIBCXX, v) {
				in.GLIBCXX = v
			}
			if v, ok := strings.CutPrefix(d.Dep, "CXXABI_"); ok && versionLess(in.CXXABI, v) {
				in.CXXABI = v
			}
		}
	}
	if in.TooNew, err = tooNewImports(f); err != nil {
		return in, err
	}
	return in, nil
}

// versionLess compares dotted numeric versions ("" is lowest; non-numeric parts compare as 0).
func versionLess(a, b string) bool {
	if a == "" {
		return b != ""
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func wantMachine(arch string) elf.Machine {
	if arch == "arm64" {
		return elf.EM_AARCH64
	}
	return elf.EM_X86_64
}

func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_AARCH64:
		return "arm64"
	}
	return strings.TrimPrefix(m.String(), "EM_")
}

// NativeProblem is one .node file Lambda could not load.
type NativeProblem struct {
	Path string // zip path
	What string // what it is vs what is needed
}

// CheckNative checks one .node file against the target. problems are load failures on
// Lambda; warnings are likely failures the user should know about.
func CheckNative(p, rel, arch string, abi int) (info ELFInfo, problems []string, warnings []string, err error) {
	head := make([]byte, 4)
	f, err := os.Open(p)
	if err != nil {
		return info, nil, nil, err
	}
	n, _ := f.Read(head)
	f.Close()
	if n < 4 || string(head) != elf.ELFMAG {
		return info, []string{"it is not a Linux ELF shared object (built for macOS or Windows?)"}, nil, nil
	}
	info, err = InspectELF(p)
	if err != nil {
		return info, []string{fmt.Sprintf("it is not a readable ELF shared object (%v)", err)}, nil, nil
	}
	if want := wantMachine(arch); info.Machine != want {
		problems = append(problems, fmt.Sprintf("it is built for %s, the function runs on %s", machineName(info.Machine), arch))
	}
	if info.Musl {
		problems = append(problems, "it is linked against musl libc (Alpine), Lambda has glibc")
	}
	switch {
	case info.ABI != 0 && info.ABI != abi:
		problems = append(problems, fmt.Sprintf("it is built for Node ABI %d (%s), the runtime needs ABI %d (%s)", info.ABI, nodeForABI(info.ABI), abi, nodeForABI(abi)))
	}
	problems = append(problems, libraryProblems(info)...)
	return info, problems, warnings, nil
}

// libraryProblems names, per library, the newest symbol version the module needs beyond
// Amazon Linux 2023's glibc 2.34 / libstdc++ (GCC 11) and the symbols that need it.
func libraryProblems(info ELFInfo) []string {
	if len(info.TooNew) > 0 {
		return describeNeeds(info.TooNew)
	}
	// A version need with no symbol bound to it still makes the loader refuse the file.
	var out []string
	for _, c := range []struct{ have, prefix, max string }{{info.GLIBC, "GLIBC_", MaxGLIBC}, {info.GLIBCXX, "GLIBCXX_", MaxGLIBCXX}, {info.CXXABI, "CXXABI_", MaxCXXABI}} {
		if c.have != "" && versionLess(c.max, c.have) {
			out = append(out, fmt.Sprintf("it needs %s%s, Amazon Linux 2023 has up to %s%s", c.prefix, c.have, c.prefix, c.max))
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func nodeForABI(abi int) string {
	for _, m := range []int{16, 18, 19, 20, 21, 22, 23, 24, 25} {
		if a, _ := nodedist.ABIForMajor(m); a == abi {
			return "Node " + strconv.Itoa(m)
		}
	}
	return "an unknown Node"
}

// isPrebuild reports whether a .node path is one of several per-platform candidates a
// loader picks from at run time (node-gyp-build's prebuilds/, or a dir named after a
// platform such as darwin-x64 / linux-arm64).
func isPrebuild(rel string) bool {
	for _, s := range strings.Split(rel, "/") {
		if s == "prebuilds" || s == "prebuild" || s == "binaries" {
			return true
		}
		for _, p := range []string{"darwin-", "win32-", "linux-", "linuxmusl-", "freebsd-", "android-"} {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
	}
	return false
}

// stripper returns the strip command for the target arch, or "" if none is available.
func stripper(arch string) string {
	hostArch := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	if arch == hostArch {
		if p, err := exec.LookPath("strip"); err == nil {
			return p
		}
	}
	triple := map[string]string{"x86_64": "x86_64-linux-gnu-strip", "arm64": "aarch64-linux-gnu-strip"}[arch]
	if p, err := exec.LookPath(triple); err == nil {
		return p
	}
	return ""
}

// stripTo writes a stripped copy of src to dst (strip --strip-unneeded).
func stripTo(ctx context.Context, tool, src, dst string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, "--strip-unneeded", "-o", dst, src)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", filepath.Base(tool), src, err, strings.TrimSpace(stderr.String()))
	}
	return os.Chmod(dst, 0o755)
}

// ProbeABI loads a .node file with a Node binary (process.dlopen) to learn the ABI of an
// addon that registers itself from a static constructor (NODE_MODULE) and so exports no
// node_register_module_vN symbol. It returns the ABI the file was built for, or an error
// when loading says nothing about it (e.g. a missing shared library).
func ProbeABI(ctx context.Context, node, p string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	script := `try { process.dlopen({exports: {}}, process.argv[1]); console.log("ok " + process.versions.modules) } catch (e) { console.log("err " + e.message) }`
	out, err := exec.CommandContext(ctx, node, "-e", script, p).Output()
	if err != nil {
		return 0, fmt.Errorf("loading it with %s: %v", node, err)
	}
	s := strings.TrimSpace(string(out))
	if v, ok := strings.CutPrefix(s, "ok "); ok {
		return strconv.Atoi(strings.TrimSpace(v))
	}
	if m := abiRE.FindStringSubmatch(s); m != nil {
		return strconv.Atoi(m[1])
	}
	return 0, fmt.Errorf("loading it with Node failed: %s", strings.TrimPrefix(s, "err "))
}

var abiRE = regexp.MustCompile(`NODE_MODULE_VERSION (\d+)`)
