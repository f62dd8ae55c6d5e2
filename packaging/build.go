package packaging

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/lambda/manifest"
)

// Build packages the app in o.Src into the zip o.Out (and template.yaml beside it).
// Nothing is written unless every check passes; the zip appears atomically.
func Build(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if err := o.validate(); err != nil {
		return nil, err
	}
	pr := o.Progress
	src, err := filepath.Abs(o.Src)
	if err != nil {
		return nil, err
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	tmplPath := TemplatePathFor(out)
	if o.Template != "" {
		if tmplPath, err = filepath.Abs(o.Template); err != nil {
			return nil, err
		}
	}
	major, _ := nodedist.MajorForRuntime(o.Runtime)
	abi, err := nodedist.ABIForMajor(major)
	if err != nil {
		return nil, err
	}
	entryRel, entryFrom, err := DetectEntry(src, o.Entry)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(pr, "package: %s for %s/%s, entry %s (from %s)\n", src, o.Runtime, o.Arch, entryRel, entryFrom)

	var root string // module root, to build the adapter
	if o.Bootstrap == "" {
		if root, err = FindModuleRoot(); err != nil {
			return nil, err
		}
	}

	work, err := os.MkdirTemp("", "rudderctl-package-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	var dist nodedist.Dist
	haveDist := false
	ensureDist := func() (nodedist.Dist, error) {
		if haveDist {
			return dist, nil
		}
		d, err := nodedist.Ensure(ctx, major, o.Arch, pr)
		if err != nil {
			return d, fmt.Errorf("getting Node %d for linux/%s: %w", major, o.Arch, err)
		}
		dist, haveDist = d, true
		return d, nil
	}

	// Production node_modules: the app's own, or a cached install for the target.
	nodeModules := filepath.Join(src, "node_modules")
	ownModules := true
	if st, err := os.Stat(nodeModules); err != nil || !st.IsDir() {
		ownModules = false
		nodeModules = ""
		if hasDependencies(src) {
			// For a foreign CPU npm runs on this machine's Node without build scripts, so
			// the target's Node is not needed.
			var d nodedist.Dist
			if sameArch(o.Arch) {
				if d, err = ensureDist(); err != nil {
					return nil, err
				}
			}
			if nodeModules, err = installDeps(ctx, src, o.Runtime, o.Arch, d, pr); err != nil {
				return nil, err
			}
		}
	}
	if o.RebuildNative && nodeModules != "" {
		d, err := ensureDist()
		if err != nil {
			return nil, err
		}
		if nodeModules, err = rebuildNative(ctx, src, nodeModules, filepath.Join(work, "stage"), o.Arch, d, pr); err != nil {
			return nil, err
		}
	}

	skip := map[string]bool{out: true, tmplPath: true}
	co := collectOptions{Src: src, NodeModules: nodeModules, Skip: skip, ModulesOurs: !ownModules}
	if o.RebuildNative && nodeModules != "" {
		co.ModulesRoots = []string{filepath.Join(work, "stage")}
		if real, err := filepath.EvalSymlinks(co.ModulesRoots[0]); err == nil {
			co.ModulesRoots = append(co.ModulesRoots, real)
		}
	}
	files, err := collect(co)
	if err != nil {
		return nil, fmt.Errorf("reading the app: %w", err)
	}
	// Our own files win over app files of the same name.
	files = dropNames(files, manifest.BootstrapName, manifest.WrapperName, manifest.FileName)
	pctx := &pruneCtx{nativePkgs: nativePackages(files), user: o.Prune}
	if ownModules {
		pctx.devPkgs = readDevPackages(src, nodeModules)
	}
	gypPkgs := map[string]bool{}
	for _, f := range files {
		if d, _, inner := pkgOf(f.Rel); d != "" && inner == "binding.gyp" {
			gypPkgs[d] = true
		}
	}
	kept := prune(files, o.Keep, pctx)

	// What the app can load is never pruned (issue #6).
	tr, err := traceApp(files, entryRel)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(pr, "package: traced %d files the app can load from %s (%d JavaScript files read, %d dynamic requires) in %d ms\n", tr.sum.Reachable, entryRel, tr.sum.Scanned, len(tr.sum.Dynamic), tr.sum.Millis)
	keptReachable, err := protectReachable(files, tr, o.Keep, o.Prune)
	if err != nil {
		return nil, err
	}

	rep := &Report{Runtime: o.Runtime, Arch: o.Arch, Entry: entryRel, Warnings: []string{}, NativeModules: []NativeModule{}}
	rep.Trace = &tr.sum
	// Native modules: every .node that stays must load on the target.
	if err := checkNatives(ctx, files, gypPkgs, o, abi, work, ensureDist, rep); err != nil {
		return nil, err
	}
	if err := refuseUnloadable(files, tr, entryRel, o); err != nil {
		return nil, err
	}

	// The adapter, the wrapper and the manifest.
	ours, err := adapterFiles(ctx, o, root, work, entryRel)
	if err != nil {
		return nil, err
	}
	files = append(files, ours...)
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })

	final, err := zipFiles(files, kept, keptReachable, rep, pr)
	if err != nil {
		return nil, err
	}

	// Write the zip and the template to temp files, then rename both.
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(pr, "package: writing %s\n", out)
	tmpZipName, err := writeTemp(out, func(f *os.File) error { return writeZip(f, final) })
	defer os.Remove(tmpZipName)
	if err != nil {
		return nil, fmt.Errorf("writing the zip %s: %w", out, err)
	}
	rep.SHA256, rep.CodeSha256, rep.ZippedBytes, err = hashFile(tmpZipName)
	if err != nil {
		return nil, err
	}
	rep.S3Upload = rep.ZippedBytes > MaxDirectUpload
	// Start what was written, as Lambda will, before anything is renamed into place.
	if o.Smoke {
		if rep.Smoke, err = smokeStart(ctx, tmpZipName, work, o, ensureDist, pr); err != nil {
			return nil, err
		}
		if rep.Smoke.OK && rep.Smoke.Millis > smokeSlowInit.Milliseconds() {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the smoke start took %d ms to answer its health path: Lambda gives init 10 s (on-demand), so a start this slow may time out there", rep.Smoke.Millis))
		}
	} else {
		rep.Smoke = &SmokeResult{Skipped: "not requested (--no-smoke)"}
	}
	codeURI, err := filepath.Rel(filepath.Dir(tmplPath), out)
	if err != nil {
		codeURI = out
	}
	tmpl, err := RenderTemplate(TemplateData{CodeUri: filepath.ToSlash(codeURI), Runtime: o.Runtime, Arch: o.Arch})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(tmplPath), 0o755); err != nil {
		return nil, err
	}
	tmpTmpl, err := writeTemp(tmplPath, func(f *os.File) error { _, err := f.Write(tmpl); return err })
	defer os.Remove(tmpTmpl)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmpZipName, out); err != nil {
		return nil, err
	}
	if err := os.Rename(tmpTmpl, tmplPath); err != nil {
		return nil, err
	}
	rep.Zip, rep.Template = out, tmplPath
	fmt.Fprintf(pr, "package: done in %s\n", time.Since(start).Round(100*time.Millisecond))
	return rep, nil
}

// zipFiles returns the files that stay (sorted as given) and fills the report's sizes and
// pruning summary; above Lambda's unzipped limit it refuses, naming the largest packages.
func zipFiles(files []*entry, kept int, keptReachable []KeptFile, rep *Report, pr io.Writer) ([]*entry, error) {
	var final []*entry
	for _, f := range files {
		if f.pruned == "" {
			final = append(final, f)
			rep.UnzippedBytes += f.Size
		}
	}
	rep.Files = len(final)
	rep.Pruned = summarize(files, kept)
	rep.Pruned.KeptReachable = len(keptReachable)
	rep.Pruned.KeptReachableFiles = keptReachable
	if len(keptReachable) > 0 {
		fmt.Fprintf(pr, "package: kept %d files prune rules would have removed because the app loads them (e.g. %s, rule %q)\n", len(keptReachable), keptReachable[0].Path, keptReachable[0].Rule)
	}
	rep.LargestPackages = largest(final, 10)
	fmt.Fprintf(pr, "package: %d files, %s unzipped; pruned %d files (%s)\n", rep.Files, human(rep.UnzippedBytes), rep.Pruned.Files, human(rep.Pruned.Bytes))
	if rep.UnzippedBytes > MaxUnzippedBytes {
		return nil, fmt.Errorf("the app is %s (%d B) unzipped, above Lambda's limit of 250 MB (%d B): nothing was written; largest packages: %s; drop packages with --prune GLOB or move large dependencies out", human(rep.UnzippedBytes), rep.UnzippedBytes, MaxUnzippedBytes, packageList(rep.LargestPackages, 5))
	}
	return final, nil
}

// refuseUnloadable stops the build when the app requires a file that cannot stay: a prebuilt
// binary for another platform, or the entry itself pruned.
func refuseUnloadable(files []*entry, tr *trace, entryRel string, o Options) error {
	for _, f := range files {
		if why, ok := tr.reach[f.Rel]; ok && f.pruned == ruleForeignPrebuild {
			return fmt.Errorf("%s cannot load on %s/%s (it is a prebuilt binary for another platform), but the app requires it: %s; nothing was written; build node_modules for the target (--rebuild-native, or on Amazon Linux 2023)", f.Rel, o.Runtime, o.Arch, describeReason(tr, f.Rel, why))
		}
		if f.Rel == entryRel && f.pruned != "" {
			return fmt.Errorf("entry %s is removed by the prune rule %q; pass --keep %s", entryRel, f.pruned, entryRel)
		}
	}
	return nil
}

// adapterFiles are our own files in the zip: the adapter (built from the module root, or the
// given --bootstrap, checked for the target), the exec wrapper and the manifest.
func adapterFiles(ctx context.Context, o Options, root, work, entryRel string) ([]*entry, error) {
	boot := o.Bootstrap
	if boot == "" {
		boot = filepath.Join(work, manifest.BootstrapName)
		fmt.Fprintf(o.Progress, "package: building the adapter %s for linux/%s\n", BootstrapPackage, goarch(o.Arch))
		if err := BuildBootstrap(ctx, root, o.Arch, boot); err != nil {
			return nil, err
		}
	}
	if err := checkBootstrap(boot, o.Arch); err != nil {
		return nil, err
	}
	bst, err := os.Stat(boot)
	if err != nil {
		return nil, err
	}
	mf := manifest.New(o.Runtime, o.Arch, entryRel).Bytes()
	return []*entry{
		{Rel: manifest.BootstrapName, Src: boot, Size: bst.Size(), Exec: true},
		{Rel: manifest.WrapperName, Data: []byte(manifest.WrapperScript), Size: int64(len(manifest.WrapperScript)), Exec: true},
		{Rel: manifest.FileName, Data: mf, Size: int64(len(mf))},
	}, nil
}

// writeTemp writes a hidden temporary file (mode 0644) beside path with write, so that path
// itself appears only when the caller renames it: nothing half-written is ever left at path.
// The temporary name is returned even on error, for the caller to remove.
func writeTemp(path string, write func(*os.File) error) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("cannot write %s: %v", path, err)
	}
	err = write(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

func dropNames(files []*entry, names ...string) []*entry {
	out := files[:0]
	for _, f := range files {
		if !contains(names, f.Rel) {
			out = append(out, f)
		}
	}
	return out
}

// checkNatives checks every kept .node file; prebuilt candidates for other platforms are
// pruned, anything else that cannot load is an error. Loadable ones are stripped.
func checkNatives(ctx context.Context, files []*entry, gyp map[string]bool, o Options, abi int, work string, ensureDist func() (nodedist.Dist, error), rep *Report) error {
	var problems []string
	prebuiltTotal := map[string]int{} // package dir -> prebuilt candidates
	loadable := map[string]int{}      // package dir -> .node files that stay
	var keepNodes []*entry
	abiOf := map[*entry]int{} // ABI learned by loading the module
	for _, f := range files {
		if f.pruned != "" || !strings.HasSuffix(f.Rel, ".node") {
			continue
		}
		pkgDir, _, _ := pkgOf(f.Rel)
		info, probs, warns, err := CheckNative(f.Src, f.Rel, o.Arch, abi)
		if err != nil {
			return fmt.Errorf("reading native module %s: %w", f.Rel, err)
		}
		if len(probs) == 0 && info.ABI == 0 && !info.NAPI {
			// Registered from a static constructor: ask the target Node by loading it.
			got, perr := 0, error(nil)
			if !sameArch(o.Arch) {
				perr = fmt.Errorf("it cannot be loaded on this %s machine", hostLambdaArch())
			} else if d, err := ensureDist(); err != nil {
				perr = err
			} else {
				got, perr = ProbeABI(ctx, d.Node, f.Src)
			}
			switch {
			case perr != nil:
				warns = append(warns, fmt.Sprintf("%s exports neither node_register_module_vN nor napi_register_module_v1 and its Node ABI could not be checked: %v", f.Rel, perr))
			case got != abi:
				probs = append(probs, fmt.Sprintf("it is built for Node ABI %d (%s), the runtime needs ABI %d (%s)", got, nodeForABI(got), abi, nodeForABI(abi)))
			default:
				abiOf[f] = got
			}
		}
		pre := isPrebuild(f.Rel)
		if pre {
			prebuiltTotal[pkgDir]++
		}
		if len(probs) > 0 {
			if pre {
				// The loader never picks it on the target; --keep may still ship it.
				if !keepMatch(o.Keep, f.Rel) {
					f.pruned = ruleForeignPrebuild
				}
				continue
			}
			problems = append(problems, fmt.Sprintf("  %s: %s", f.Rel, strings.Join(probs, "; ")))
			continue
		}
		loadable[pkgDir]++
		rep.Warnings = append(rep.Warnings, warns...)
		keepNodes = append(keepNodes, f)
	}
	for pkg, n := range prebuiltTotal {
		if n > 0 && loadable[pkg] == 0 {
			problems = append(problems, fmt.Sprintf("  %s: none of its %d prebuilt binaries is for linux/%s with Node ABI %d (or N-API)", pkg, n, o.Arch, abi))
		}
	}
	// Packages with a binding.gyp but no binary at all would fail at require time.
	keptPkgs := map[string]bool{}
	for _, f := range files {
		if d, _, inner := pkgOf(f.Rel); d != "" && inner == "package.json" && f.pruned == "" {
			keptPkgs[d] = true
		}
	}
	for d := range gyp {
		if keptPkgs[d] && loadable[d] == 0 && prebuiltTotal[d] == 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s has a binding.gyp but no compiled .node binary: it will fail if it is required; build it (--rebuild-native) on a %s machine", d, o.Arch))
		}
	}
	sort.Strings(rep.Warnings)
	if len(problems) > 0 {
		sort.Strings(problems)
		fix := "pass --rebuild-native to rebuild them here with Node for " + o.Runtime + " (it also pins glibc/libstdc++ symbols to versions Amazon Linux 2023 has)"
		if !sameArch(o.Arch) {
			fix = "build node_modules on an " + o.Arch + " machine (Amazon Linux 2023), or use packages with prebuilt linux-" + o.Arch + " binaries"
		}
		return fmt.Errorf("native modules cannot load on %s/%s (Amazon Linux 2023, glibc %s, Node ABI %d): nothing was written\n%s\nfix: %s, or rebuild node_modules on Amazon Linux 2023", o.Runtime, o.Arch, MaxGLIBC, abi, strings.Join(problems, "\n"), fix)
	}
	// Strip debug info (isolated-vm: 26 MB -> ~1 MB).
	tool := stripper(o.Arch)
	for i, f := range keepNodes {
		info, _ := InspectELF(f.Src)
		nm := NativeModule{Path: f.Rel, Machine: machineName(info.Machine), GLIBC: info.GLIBC, Bytes: f.Size}
		switch {
		case info.NAPI && info.ABI == 0:
			nm.Kind = "n-api"
		case info.ABI != 0:
			nm.Kind = fmt.Sprintf("node-abi-%d", info.ABI)
		case abiOf[f] != 0:
			nm.Kind = fmt.Sprintf("node-abi-%d", abiOf[f])
		default:
			nm.Kind = "unknown"
		}
		f.Exec = true
		if tool != "" {
			dst := filepath.Join(work, "strip", fmt.Sprintf("%d-%s", i, filepath.Base(f.Src)))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := stripTo(ctx, tool, f.Src, dst); err != nil {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s left unstripped: %v", f.Rel, err))
			} else if st, err := os.Stat(dst); err == nil {
				f.Src, f.Size, nm.Stripped, nm.Bytes = dst, st.Size(), true, st.Size()
			}
		}
		rep.NativeModules = append(rep.NativeModules, nm)
	}
	if tool == "" && len(keepNodes) > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("no strip tool for %s (strip or %s): %d native module(s) left unstripped, which can be much larger", o.Arch, map[string]string{"x86_64": "x86_64-linux-gnu-strip", "arm64": "aarch64-linux-gnu-strip"}[o.Arch], len(keepNodes)))
	}
	return nil
}

func largest(files []*entry, n int) []PackageSize {
	by := map[string]*PackageSize{}
	for _, f := range files {
		name := topPackage(f.Rel)
		p := by[name]
		if p == nil {
			p = &PackageSize{Name: name}
			by[name] = p
		}
		p.Bytes += f.Size
		p.Files++
	}
	list := make([]PackageSize, 0, len(by))
	for _, p := range by {
		list = append(list, *p)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Bytes != list[j].Bytes {
			return list[i].Bytes > list[j].Bytes
		}
		return list[i].Name < list[j].Name
	})
	if len(list) > n {
		list = list[:n]
	}
	return list
}

func packageList(ps []PackageSize, n int) string {
	var s []string
	for i, p := range ps {
		if i == n {
			break
		}
		s = append(s, fmt.Sprintf("%s %s", p.Name, human(p.Bytes)))
	}
	return strings.Join(s, ", ")
}

// human formats bytes as MB with one decimal (1 MB = 1,000,000 B; Lambda's "50 MB" is MiB,
// so limits are also given in bytes).
func human(b int64) string {
	switch {
	case b >= 1_000_000:
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	case b >= 1_000:
		return fmt.Sprintf("%.1f kB", float64(b)/1e3)
	}
	return fmt.Sprintf("%d B", b)
}
