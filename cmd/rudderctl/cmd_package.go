package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rudderctl/rudderctl/packaging"
	"github.com/urfave/cli/v2"
)

// packageCommand is `rudderctl package transformer`: build the Lambda zip (and a SAM
// template beside it) from a transformer checkout.
func packageCommand() *cli.Command {
	return &cli.Command{
		Name:  "package",
		Usage: "build the Lambda zip for an app",
		Subcommands: []*cli.Command{{
			Name:      "transformer",
			Usage:     "build the Lambda zip (and a SAM template) for the RudderStack transformer",
			UsageText: "rudderctl package transformer --src DIR --out FILE [options]",
			Description: `Packages a built transformer checkout (package.json, its built files, production
node_modules) with the rudderctl adapter into a deterministic Lambda zip: same input, same
bytes, same CodeSha256. Without node_modules, production dependencies are installed with the
target runtime's Node (cached). Native modules (.node) are checked against the target's CPU,
glibc 2.34 and Node ABI before anything is written. Docs, tests, source maps, TypeScript
sources, dev tools and native build leftovers are pruned (--keep/--prune override), but
never a file the app loads: the entry's require/import graph is traced (dynamic requires
conservatively) and such files are kept and reported; a --prune glob that would remove one
is refused. Before anything is written the zip is started as Lambda will run it (Runtime
Interface Emulator, the adapter, Node of the runtime) and its health path must answer 200
(--no-smoke skips this; it is skipped for a foreign --arch). A SAM template named after the
zip (transformer.zip -> transformer.template.yaml, or --template PATH) is written with it.
Progress goes to stderr, the summary to stdout.

Examples:
   rudderctl package transformer --src ./rudder-transformer --out build/transformer.zip
   rudderctl package transformer --src . --out t.zip --runtime nodejs24.x --arch arm64
   rudderctl package transformer --src . --out t.zip --rebuild-native
   rudderctl package transformer --src . --out t.zip --keep 'node_modules/typescript' --prune '*.png'
   rudderctl package transformer --src . --out t.zip --bootstrap ./bootstrap --json
   rudderctl package transformer --src . --out build/a.zip --template build/a-sam.yaml --no-smoke`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "src", Usage: "app directory (holds package.json)"},
				&cli.StringFlag{Name: "out", Usage: "zip to write (its SAM template goes beside it as NAME.template.yaml)"},
				&cli.StringFlag{Name: "template", Usage: "SAM template `PATH` to write (default: beside the zip, named after it)"},
				&cli.StringFlag{Name: "runtime", Value: "nodejs22.x", Usage: "Lambda runtime: " + strings.Join(packaging.Runtimes, ", ")},
				&cli.StringFlag{Name: "arch", Value: "x86_64", Usage: "Lambda architecture: " + strings.Join(packaging.Architectures, ", ")},
				&cli.StringFlag{Name: "entry", Usage: "app entry file, relative to --src (default: package.json main, else \"node X\" in scripts.start)"},
				&cli.BoolFlag{Name: "rebuild-native", Usage: "rebuild native modules (in a copy) with the target Node, reproducibly, with glibc/libstdc++ symbols pinned to versions Amazon Linux 2023 has, before checking them"},
				&cli.StringSliceFlag{Name: "keep", Usage: "glob of files to keep whatever the prune rules say (repeatable)"},
				&cli.StringSliceFlag{Name: "prune", Usage: "glob of extra files to leave out (repeatable)"},
				&cli.StringFlag{Name: "bootstrap", Usage: "prebuilt adapter binary (default: go build ./lambda/bootstrap from the source checkout)"},
				&cli.BoolFlag{Name: "no-smoke", Usage: "do not start the packaged app before writing it"},
				&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return fmt.Errorf("unexpected argument %q: options go as flags, see rudderctl package transformer --help", c.Args().First())
				}
				rep, err := packaging.Build(c.Context, packaging.Options{
					Src: c.String("src"), Out: c.String("out"), Template: c.String("template"),
					Smoke:   !c.Bool("no-smoke"),
					Runtime: c.String("runtime"), Arch: c.String("arch"),
					Entry: c.String("entry"), RebuildNative: c.Bool("rebuild-native"),
					Keep: c.StringSlice("keep"), Prune: c.StringSlice("prune"),
					Bootstrap: c.String("bootstrap"), Progress: os.Stderr,
				})
				if err != nil {
					return fmt.Errorf("package: %w", err)
				}
				if c.Bool("json") {
					enc := json.NewEncoder(c.App.Writer)
					enc.SetIndent("", "  ")
					return enc.Encode(rep)
				}
				printPackageReport(c.App.Writer, rep)
				return nil
			},
		}},
	}
}

func printPackageReport(w io.Writer, r *packaging.Report) {
	mb := func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
	fmt.Fprintf(w, "zip        %s\n", r.Zip)
	fmt.Fprintf(w, "template   %s\n", r.Template)
	fmt.Fprintf(w, "runtime    %s/%s, entry %s\n", r.Runtime, r.Arch, r.Entry)
	fmt.Fprintf(w, "size       %s zipped (%d B), %s unzipped (%d B), %d files\n", mb(r.ZippedBytes), r.ZippedBytes, mb(r.UnzippedBytes), r.UnzippedBytes, r.Files)
	fmt.Fprintf(w, "sha256     %s\n", r.SHA256)
	fmt.Fprintf(w, "CodeSha256 %s\n", r.CodeSha256)
	if r.S3Upload {
		fmt.Fprintf(w, "upload     above Lambda's 50 MB direct-upload limit (%d B): a deploy uploads it through S3\n", packaging.MaxDirectUpload)
	} else {
		fmt.Fprintf(w, "upload     direct (under the 50 MB limit)\n")
	}
	fmt.Fprintf(w, "pruned     %d files, %s", r.Pruned.Files, mb(r.Pruned.Bytes))
	if r.Pruned.Kept > 0 {
		fmt.Fprintf(w, " (%d kept by --keep)", r.Pruned.Kept)
	}
	if r.Pruned.KeptReachable > 0 {
		fmt.Fprintf(w, " (%d kept because the app loads them, e.g. %s)", r.Pruned.KeptReachable, r.Pruned.KeptReachableFiles[0].Path)
	}
	fmt.Fprintln(w)
	for _, rc := range r.Pruned.ByRule {
		fmt.Fprintf(w, "  %-30s %6d files %10s\n", rc.Rule, rc.Files, mb(rc.Bytes))
	}
	if t := r.Trace; t != nil {
		fmt.Fprintf(w, "traced     %d files reachable from %s (%d read, %d dynamic requires, %d unresolved) in %d ms\n", t.Reachable, t.Entry, t.Scanned, len(t.Dynamic), len(t.Unresolved), t.Millis)
	}
	switch s := r.Smoke; {
	case s == nil:
	case s.OK:
		fmt.Fprintf(w, "smoke      ok: the health path answered %d in %d ms under the Lambda Runtime Interface Emulator\n", s.Status, s.Millis)
	default:
		fmt.Fprintf(w, "smoke      skipped: %s\n", s.Skipped)
	}
	if len(r.NativeModules) > 0 {
		fmt.Fprintln(w, "native modules")
		for _, n := range r.NativeModules {
			s := "unstripped"
			if n.Stripped {
				s = "stripped"
			}
			g := n.GLIBC
			if g == "" {
				g = "-"
			}
			fmt.Fprintf(w, "  %s  %s %s glibc>=%s %s %s\n", n.Path, n.Kind, n.Machine, g, s, mb(n.Bytes))
		}
	}
	fmt.Fprintln(w, "largest packages (unzipped)")
	for _, p := range r.LargestPackages {
		fmt.Fprintf(w, "  %-32s %10s %6d files\n", p.Name, mb(p.Bytes), p.Files)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}
