package packaging

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// versionCap is the newest version of one symbol-version family that Amazon Linux 2023
// (the nodejs22.x and nodejs24.x runtimes) provides.
type versionCap struct {
	Prefix string // "GLIBCXX_"
	Max    string // "3.4.29"
}

var al2023Caps = []versionCap{{"GLIBC_", MaxGLIBC}, {"GLIBCXX_", MaxGLIBCXX}, {"CXXABI_", MaxCXXABI}}

// capFor returns the cap of a version name such as "GLIBCXX_3.4.30" and its number part;
// ok is false for families Amazon Linux 2023 does not cap here (GCC_, GLIBC_PRIVATE, ...).
func capFor(version string) (c versionCap, num string, ok bool) {
	for _, c := range al2023Caps {
		if n, found := strings.CutPrefix(version, c.Prefix); found && n != "" && n[0] >= '0' && n[0] <= '9' {
			return c, n, true
		}
	}
	return versionCap{}, "", false
}

// tooNewForAL2023 reports whether a symbol version is newer than Amazon Linux 2023 has.
func tooNewForAL2023(version string) bool {
	c, n, ok := capFor(version)
	return ok && versionLess(c.Max, n)
}

// SymbolNeed is one imported symbol and the version the module binds it to.
type SymbolNeed struct {
	Name    string // mangled, as in the dynamic symbol table
	Version string // "GLIBCXX_3.4.30"
	Library string // "libstdc++.so.6"
}

// tooNewImports lists the imported symbols of f bound to a version Amazon Linux 2023 lacks,
// sorted by library, version and name.
func tooNewImports(f *elf.File) ([]SymbolNeed, error) {
	imps, err := f.ImportedSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, err
	}
	var out []SymbolNeed
	for _, s := range imps {
		if tooNewForAL2023(s.Version) {
			out = append(out, SymbolNeed{Name: s.Name, Version: s.Version, Library: s.Library})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Library != b.Library {
			return a.Library < b.Library
		}
		if a.Version != b.Version {
			return versionLess(b.Version, a.Version) // newest first
		}
		return a.Name < b.Name
	})
	return out, nil
}

// describeNeeds turns a module's too-new imports into one line per library and version
// family: the highest version needed, the symbols that need it, and what AL2023 has.
func describeNeeds(needs []SymbolNeed) []string {
	type group struct {
		lib, prefix, highest string
		syms                 []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, n := range needs {
		c, _, _ := capFor(n.Version)
		key := n.Library + "\x00" + c.Prefix
		g := byKey[key]
		if g == nil {
			g = &group{lib: n.Library, prefix: c.Prefix}
			byKey[key] = g
			groups = append(groups, g)
		}
		if g.highest == "" || versionLess(g.highest, n.Version) {
			g.highest = n.Version
		}
		g.syms = append(g.syms, fmt.Sprintf("%s (%s)", demangle(n.Name), n.Version))
	}
	var out []string
	for _, g := range groups {
		c, _, _ := capFor(g.highest)
		syms := g.syms
		more := ""
		if len(syms) > 4 {
			more = fmt.Sprintf(" and %d more", len(syms)-4)
			syms = syms[:4]
		}
		out = append(out, fmt.Sprintf("it needs %s from %s, Amazon Linux 2023 has up to %s%s: %s%s",
			g.highest, orDash(g.lib), c.Prefix, c.Max, strings.Join(syms, ", "), more))
	}
	return out
}

var (
	demangleMu    sync.Mutex
	demangleCache = map[string]string{}
)

// demangle makes a C++ symbol readable with c++filt when it is installed, keeping the
// mangled name too (it is what .symver and objdump show).
func demangle(sym string) string {
	if !strings.HasPrefix(sym, "_Z") {
		return sym
	}
	demangleMu.Lock()
	defer demangleMu.Unlock()
	if d, ok := demangleCache[sym]; ok {
		return d
	}
	d := sym
	if out, err := exec.Command("c++filt", sym).Output(); err == nil {
		if s := strings.TrimSpace(string(out)); s != "" && s != sym {
			d = s + " [" + sym + "]"
		}
	}
	demangleCache[sym] = d
	return d
}

// Pin binds one imported symbol to an older version of itself that the runtime has.
type Pin struct {
	Name    string `json:"symbol"`
	From    string `json:"from"` // version the plain build bound
	To      string `json:"to"`   // older version the pinned build binds
	Library string `json:"library"`
}

// planPins finds, for each too-new import, the newest version of the same symbol in the
// library it comes from (the one this machine links against) that Amazon Linux 2023 still
// has. Imports with no such version are returned as unpinnable.
func planPins(needs []SymbolNeed) (pins []Pin, unpinnable []SymbolNeed, err error) {
	seen := map[string]bool{}
	for _, n := range needs {
		if seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		lib, err := libraryPath(n.Library)
		if err != nil {
			return nil, nil, err
		}
		versions, err := definedVersions(lib)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the symbol versions of %s: %w", lib, err)
		}
		best := ""
		for _, v := range versions[n.Name] {
			c, _, ok := capFor(v)
			n0, _, _ := capFor(n.Version)
			if ok && c.Prefix == n0.Prefix && !tooNewForAL2023(v) && (best == "" || versionLess(best, v)) {
				best = v
			}
		}
		if best == "" {
			unpinnable = append(unpinnable, n)
			continue
		}
		pins = append(pins, Pin{Name: n.Name, From: n.Version, To: best, Library: n.Library})
	}
	sort.Slice(pins, func(i, j int) bool { return pins[i].Name < pins[j].Name })
	return pins, unpinnable, nil
}

// pinHeader is the header force-included (-include) into every C and C++ compile of a
// package: each .symver makes references to the symbol bind to the older version.
func pinHeader(pins []Pin) []byte {
	var b bytes.Buffer
	b.WriteString("/* Generated by rudderctl --rebuild-native: bind these symbols to versions Amazon Linux 2023 has. */\n#ifndef __ASSEMBLER__\n")
	for _, p := range pins {
		fmt.Fprintf(&b, "__asm__(\".symver %s,%s@%s\"); /* was %s */\n", p.Name, p.Name, p.To, p.From)
	}
	b.WriteString("#endif\n")
	return b.Bytes()
}

// libraryPath finds the shared library the compiler links against for a soname such as
// libstdc++.so.6: `$CXX -print-file-name`, else the usual library directories.
func libraryPath(soname string) (string, error) {
	if soname == "" {
		return "", errors.New("an imported symbol names no library (no version-needs entry)")
	}
	cxx := os.Getenv("CXX")
	if cxx == "" {
		cxx = "g++"
	}
	if out, err := exec.Command(cxx, "-print-file-name="+soname).Output(); err == nil {
		if p := strings.TrimSpace(string(out)); filepath.IsAbs(p) {
			if _, err := os.Stat(p); err == nil {
				return filepath.Clean(p), nil
			}
		}
	}
	for _, d := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
		p := filepath.Join(d, soname)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not on this machine (asked %s -print-file-name and the usual library directories), so its older symbol versions cannot be looked up", soname, cxx)
}

var (
	definedMu    sync.Mutex
	definedCache = map[string]map[string][]string{}
)

// definedVersions reads a shared library's dynamic symbol table: symbol name -> every
// version it defines (the default one and the older, hidden ones).
func definedVersions(lib string) (map[string][]string, error) {
	definedMu.Lock()
	defer definedMu.Unlock()
	if m, ok := definedCache[lib]; ok {
		return m, nil
	}
	f, err := elf.Open(lib)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF || !s.HasVersion || s.Version == "" {
			continue
		}
		m[s.Name] = append(m[s.Name], s.Version)
	}
	definedCache[lib] = m
	return m, nil
}
