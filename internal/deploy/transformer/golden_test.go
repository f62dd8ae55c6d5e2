package transformer

// Golden files that make any change in what a deploy plans, or in the AWS calls it makes,
// show up as a diff: testdata/plans/*.json (what `rudderctl plan transformer --json`
// prints) and testdata/calls/*.txt (the ordered calls the local cloud answered).
// `go test ./internal/deploy/transformer -run 'TestGolden' -update` rewrites them.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testfn"
)

var update = flag.Bool("update", false, "rewrite the golden plans (testdata/plans) and call records (testdata/calls)")

// deterministicDelays make every run make the same calls: no role propagation (so
// CreateFunction is never retried) and short, fixed waits for the function states.
var deterministicDelays = localcloud.Delays{RolePropagation: -1, Active: 100 * time.Millisecond, Update: 100 * time.Millisecond}

// normalizer replaces what varies from run to run (API ids, the secret, the cloud's port,
// the account, the code hashes and the host's architecture) with fixed placeholders.
type normalizer struct {
	cl *awsapi.Session
	// codes maps a zip's CodeSha256 to its placeholder (CODE_A...).
	codes map[string]string
}

var hostPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// normalize reads the stacks' API ids and secrets from the cloud and replaces them in s.
func (n *normalizer) normalize(t *testing.T, s string, stacks ...string) string {
	t.Helper()
	for _, stack := range stacks {
		o, err := Observe(context.Background(), n.cl, NamesFor(stack))
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range o.APIs {
			s = strings.ReplaceAll(s, a.ID, fmt.Sprintf("API_%s_%d", stack, i))
		}
		for i, in := range o.Integrations {
			s = strings.ReplaceAll(s, in.ID, fmt.Sprintf("INTEGRATION_%s_%d", stack, i))
		}
		// Route ids are random and sorted by the cloud: name them by their key instead.
		for _, r := range o.Routes {
			s = strings.ReplaceAll(s, r.ID, "ROUTE("+r.Key+")")
		}
		if o.Func != nil {
			if secret, _ := SecretFromPrefix(o.Func.Config.Env[PrefixEnv]); secret != "" {
				s = strings.ReplaceAll(s, secret, "SECRET")
			}
		}
	}
	for sha, name := range n.codes {
		s = strings.ReplaceAll(s, sha, name)
	}
	s = hostPort.ReplaceAllString(s, "LOCALCLOUD")
	s = strings.ReplaceAll(s, localcloud.AccountID, "ACCOUNT")
	return strings.ReplaceAll(s, testfn.HostArch(), "ARCH")
}

// checkGolden compares got with testdata/<rel>, or rewrites it under -update.
func checkGolden(t *testing.T, rel, got string) {
	t.Helper()
	path := filepath.Join("testdata", rel)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; create it with `go test ./internal/deploy/transformer -run %s -update`", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from what the code does now (if the change is intended, rewrite it with -update and review the diff)\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the lines only in want ("- ") and only in got ("+ "), in order, along a
// longest common subsequence; common lines are shown with two spaces.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("- " + a[i] + "\n")
			i++
		default:
			out.WriteString("+ " + b[j] + "\n")
			j++
		}
	}
	return out.String()
}

// planJSON is what `rudderctl plan transformer --lambda --json` prints (runDeploy with
// dryRun: transformer.Deploy, then printJSON's two-space indented encoding).
func planJSON(t *testing.T, cl *awsapi.Session, stack, zip string) string {
	t.Helper()
	in, zi, err := testInput(stack, zip, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Deploy(context.Background(), cl, in, zi, true, io.Discard)
	if err != nil {
		t.Fatalf("plan %s: %v", stack, err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// destroyPlanJSON is the list `rudderctl destroy transformer` shows before it asks, in the
// shape of its --json output, normalized. The route deletions follow the cloud's order of
// random route ids, so that run of lines is sorted.
func destroyPlanJSON(t *testing.T, cl *awsapi.Session, n *normalizer, stack string) string {
	t.Helper()
	planned, err := Destroy(context.Background(), cl, stack, testRegion, true, nil)
	if err != nil {
		t.Fatalf("destroy plan %s: %v", stack, err)
	}
	list := []string{}
	for _, ch := range planned {
		list = append(list, n.normalize(t, ch.String(), stack))
	}
	sortRuns(list, func(s string) bool { return strings.HasSuffix(s, ": "+string(DeleteRoute)) })
	b, err := json.MarshalIndent(map[string]any{"stack": stack, "region": testRegion, "deleted": len(planned), "change_list": list}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// sortRuns sorts each run of consecutive elements for which in is true, in place.
func sortRuns(list []string, in func(string) bool) {
	for i := 0; i < len(list); {
		j := i
		for j < len(list) && in(list[j]) {
			j++
		}
		if j > i {
			sort.Strings(list[i:j])
			i = j
		} else {
			i++
		}
	}
}

func goldenSetup(t *testing.T) (*localcloud.Cloud, *awsapi.Session, *normalizer, string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	cloud := startCloud(t, deterministicDelays)
	cl := testClients(t)
	zipA, zipB := testZip(t, "A"), testZip(t, "B")
	n := &normalizer{cl: cl, codes: map[string]string{}}
	for name, zip := range map[string]string{"CODE_A": zipA, "CODE_B": zipB} {
		zi, err := InspectZip(zip)
		if err != nil {
			t.Fatal(err)
		}
		n.codes[zi.CodeSha256] = name
	}
	return cloud, cl, n, zipA, zipB
}

// halfFinishedAt is the mutating call a deploy is killed at for the half-finished plan: the
// first CreateRoute (testdata/calls/first-deploy.txt), so the role, log group, function,
// version, alias, API and integration exist and the routes, stage and permission do not.
const halfFinishedAt = 13

// TestGoldenPlans checks the plan of a fresh stack, a converged one, a code change, a
// deploy killed part-way and a destroy against testdata/plans.
func TestGoldenPlans(t *testing.T) {
	cloud, cl, n, zipA, zipB := goldenSetup(t)
	const stack = "golden"

	checkGolden(t, "plans/fresh.json", n.normalize(t, planJSON(t, cl, stack, zipA), stack))
	mustDeploy(t, cl, stack, zipA, nil)
	checkGolden(t, "plans/converged.json", n.normalize(t, planJSON(t, cl, stack, zipA), stack))
	checkGolden(t, "plans/code-changed.json", n.normalize(t, planJSON(t, cl, stack, zipB), stack))
	checkGolden(t, "plans/destroy.json", destroyPlanJSON(t, cl, n, stack))

	const half = "half"
	deployKilledAt(t, cloud, testClients(t, noRetryInjected), half, zipA, halfFinishedAt)
	if hit := cloud.Stats().InjectedInto; hit["apigateway:CreateRoute"] != 1 {
		t.Fatalf("the kill at mutating call %d hit %v, not the first CreateRoute: the first deploy's calls changed (see testdata/calls/first-deploy.txt)", halfFinishedAt, hit)
	}
	checkGolden(t, "plans/half-finished.json", n.normalize(t, planJSON(t, cl, half, zipA), half))
}

// callRecord renders the calls the cloud answered since its last ResetStats, one per line:
// "W service:Operation" for a mutating call, "R service:Operation" for a read.
// Consecutive repeats of the same read are collapsed into one line: waiters poll
// (GetFunction until the function is Active, ...) a number of times that depends on timing,
// and the record must not.
func callRecord(cloud *localcloud.Cloud) string {
	log := cloud.Calls()
	var b strings.Builder
	b.WriteString("# W = mutating, R = read; consecutive repeats of one read are collapsed (polling).\n")
	prev := ""
	for _, c := range log.Calls {
		line := "R " + c.Op
		if c.Mutating {
			line = "W " + c.Op
		}
		if line == prev && !c.Mutating {
			continue
		}
		b.WriteString(line + "\n")
		prev = line
	}
	if log.Dropped > 0 {
		fmt.Fprintf(&b, "# %d calls dropped\n", log.Dropped)
	}
	return b.String()
}

// TestGoldenCalls checks that a first deploy, a no-op redeploy, a code change and a destroy
// make the same AWS calls in the same order as testdata/calls records.
func TestGoldenCalls(t *testing.T) {
	cloud, cl, _, zipA, zipB := goldenSetup(t)
	const stack = "calls"
	record := func(name string, do func()) {
		t.Helper()
		cloud.ResetStats()
		do()
		checkGolden(t, "calls/"+name+".txt", callRecord(cloud))
	}
	record("first-deploy", func() { mustDeploy(t, cl, stack, zipA, nil) })
	record("noop-redeploy", func() { mustDeploy(t, cl, stack, zipA, nil) })
	record("code-change", func() { mustDeploy(t, cl, stack, zipB, nil) })
	record("destroy", func() {
		if _, err := Destroy(context.Background(), cl, stack, testRegion, false, io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}
