// Command benchtable runs the performance measurements of issue 13 and prints them side
// by side (`make bench` runs it):
//
//   - ingest: BenchmarkIngest in pkg/ingest, one table row per payload size: the ingest
//     handler, the floor (HMAC-SHA256 plus one json.Valid pass) and the go-github path,
//     with the ratios and allocations. It runs `go test` -count times; each ratio is
//     taken within one run, where the three paths ran one after the other on the same
//     body, and the table shows the medians over the runs;
//   - cold start: BenchmarkColdStart in pkg/local/coldstart, each function against the
//     minimal aws-lambda-go function; one op starts every function once, one after the
//     other, and the ratios are taken within an op (medians over -coldstart ops);
//   - requests: what TestRequestsPerDelivery in pkg/processor counts per delivery kind,
//     read from its -v output, so that the table shows the counts of the code it runs.
//
// Usage:
//
//	benchtable [-count 5] [-benchtime 1s] [-coldstart 5] [-requests=true]
//	benchtable -in bench.txt    format saved output of the same go test commands
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The benchmark the table is made of, and the package that holds it.
const (
	benchName = "BenchmarkIngest"
	benchPkg  = "./pkg/ingest"
)

// The three paths of each size, as BenchmarkIngest names its sub-benchmarks.
const (
	pathIngest = "ingest"
	pathFloor  = "floor"
	pathGitHub = "go-github"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 5, "go test runs; the table shows medians over them")
	benchtime := fs.String("benchtime", "1s", "go test -benchtime")
	coldOps := fs.Int("coldstart", 5, "ops of BenchmarkColdStart (each starts every function once); 0 skips it")
	requests := fs.Bool("requests", true, "run TestRequestsPerDelivery and show its counts")
	in := fs.String("in", "", "read saved `go test` output from this file instead of running it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var out []byte
	if *in != "" {
		b, err := os.ReadFile(*in)
		if err != nil {
			return fmt.Errorf("read %s: %w", *in, err)
		}
		out = b
	} else {
		// One go test process per run, each running the three paths of a size one after
		// the other: go test -count would run each sub-benchmark count times in a row, so
		// a change in the machine's load between them would show as a ratio.
		for i := range *count {
			cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^"+benchName+"$", "-benchmem",
				"-count", "1", "-benchtime", *benchtime, benchPkg)
			fmt.Fprintf(stderr, "run %d of %d: %s\n", i+1, *count, strings.Join(cmd.Args, " "))
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, stderr
			if err := cmd.Run(); err != nil {
				stderr.Write(buf.Bytes())
				return fmt.Errorf("go test: %w", err)
			}
			out = append(out, buf.Bytes()...)
		}
		if *coldOps > 0 {
			b, err := goTest(stderr, "-run", "^$", "-bench", "^"+coldBench+"$", "-benchtime", fmt.Sprintf("%dx", *coldOps), coldPkg)
			if err != nil {
				return err
			}
			out = append(out, b...)
		}
		if *requests {
			// A count over its limit fails the test; the table still shows the counts.
			b, err := goTest(stderr, "-count", "1", "-run", "^"+requestsTest+"$", "-v", requestsPkg)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v (the counts below show which)\n", requestsTest, err)
			}
			out = append(out, b...)
		}
	}
	res, meta, err := parse(bytes.NewReader(out))
	if err != nil {
		return err
	}
	if *in == "" {
		meta = append(meta, "go: "+runtime.Version())
	}
	if err := format(stdout, res, meta); err != nil {
		return err
	}
	if cold := parseColdStart(out); cold != nil {
		fmt.Fprintln(stdout)
		if err := formatColdStart(stdout, cold); err != nil {
			return err
		}
	}
	if reqs := parseRequests(out); len(reqs) > 0 {
		fmt.Fprintln(stdout)
		return formatRequests(stdout, reqs)
	}
	return nil
}

// The cold-start benchmark and the request-count test, and their packages.
const (
	coldBench    = "BenchmarkColdStart"
	coldPkg      = "./pkg/local/coldstart"
	requestsTest = "TestRequestsPerDelivery"
	requestsPkg  = "./pkg/processor"
)

// goTest runs go test with args and returns its standard output.
func goTest(stderr io.Writer, args ...string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"test"}, args...)...)
	fmt.Fprintf(stderr, "%s\n", strings.Join(cmd.Args, " "))
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, stderr
	if err := cmd.Run(); err != nil {
		stderr.Write(buf.Bytes())
		return buf.Bytes(), fmt.Errorf("go test %s: %w", args[len(args)-1], err)
	}
	return buf.Bytes(), nil
}

// coldStart is BenchmarkColdStart's metrics: per function its milliseconds (ms/<fn>)
// and its ratio to the minimal function within an op (x/<fn>), each a list over runs.
type coldStart struct {
	functions []string // in order of appearance
	ms, ratio map[string][]float64
}

// parseColdStart reads the BenchmarkColdStart lines of out; nil when there are none.
func parseColdStart(out []byte) *coldStart {
	var c *coldStart
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], coldBench) {
			continue
		}
		if c == nil {
			c = &coldStart{ms: map[string][]float64{}, ratio: map[string][]float64{}}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit, fn, ok := strings.Cut(f[i+1], "/")
			if !ok {
				continue
			}
			switch unit {
			case "ms":
				if !slices.Contains(c.functions, fn) {
					c.functions = append(c.functions, fn)
				}
				c.ms[fn] = append(c.ms[fn], v)
			case "x":
				c.ratio[fn] = append(c.ratio[fn], v)
			}
		}
	}
	return c
}

// formatColdStart prints each function's time to its first answer and its ratio to the
// minimal function.
func formatColdStart(w io.Writer, c *coldStart) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cold start\tfirst answer\tvs minimal\t")
	// The minimal function first: the others are measured against it.
	fns := slices.Clone(c.functions)
	slices.SortStableFunc(fns, func(a, b string) int { return cmpBool(b == "minimal", a == "minimal") })
	for _, fn := range fns {
		ratio := "—"
		if r := c.ratio[fn]; len(r) > 0 {
			ratio = fmt.Sprintf("%.2f×", median(r))
		}
		fmt.Fprintf(tw, "%s\t%.1f ms\t%s\t\n", fn, median(c.ms[fn]), ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "medians over the ops (each op starts every function once, ratios within an op); goal at most 1.50×")
	return nil
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// requestRow is one delivery kind of TestRequestsPerDelivery.
type requestRow struct {
	kind           string
	dynamo, github string
	detail         string
}

// requestLine matches TestRequestsPerDelivery's log line: "<kind>: <n> DynamoDB
// (<units>), <m> GitHub; …".
var requestLine = regexp.MustCompile(`^\s*\S+_test\.go:\d+: (.+?): (\d+) DynamoDB(?: \(([^)]*)\))?, (\d+) GitHub`)

// parseRequests reads the counts TestRequestsPerDelivery logs, in their order.
func parseRequests(out []byte) []requestRow {
	var rows []requestRow
	for line := range strings.Lines(string(out)) {
		if m := requestLine.FindStringSubmatch(line); m != nil {
			rows = append(rows, requestRow{kind: m[1], dynamo: m[2], detail: m[3], github: m[4]})
		}
	}
	return rows
}

func formatRequests(w io.Writer, rows []requestRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "delivery kind\tDynamoDB\tGitHub\tDynamoDB units\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.kind, r.dynamo, r.github, r.detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "requests per delivery, counted by "+requestsTest+" ("+requestsPkg+"), which fails when a count passes its limit")
	return nil
}

// result is one sub-benchmark's samples.
type result struct {
	ns, bytes, allocs []float64
}

// key is a size and a path: "100KB", "floor".
type key struct{ size, path string }

// parse reads `go test -bench -benchmem` output: BenchmarkIngest/<size>/<path>-N lines,
// and the goos/goarch/cpu lines as metadata. Sizes keep their order of appearance.
func parse(r io.Reader) (*results, []string, error) {
	res := &results{by: map[key]*result{}}
	var meta []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, p := range []string{"goos: ", "goarch: ", "cpu: "} {
			if strings.HasPrefix(line, p) && !slices.Contains(meta, line) {
				meta = append(meta, line)
			}
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], benchName+"/") {
			continue
		}
		name := strings.TrimPrefix(f[0], benchName+"/")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		size, path, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		k := key{size, path}
		r := res.by[k]
		if r == nil {
			r = &result{}
			res.by[k] = r
			if !slices.Contains(res.sizes, size) {
				res.sizes = append(res.sizes, size)
			}
		}
		// After the iteration count come value-unit pairs.
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("parse %q: %w", line, err)
			}
			switch f[i+1] {
			case "ns/op":
				r.ns = append(r.ns, v)
			case "B/op":
				r.bytes = append(r.bytes, v)
			case "allocs/op":
				r.allocs = append(r.allocs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if len(res.sizes) == 0 {
		return nil, nil, errors.New("no " + benchName + " results in the output")
	}
	return res, meta, nil
}

type results struct {
	sizes []string
	by    map[key]*result
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// format prints the table: per size the medians of the three paths, ingest÷floor,
// go-github÷ingest, and the allocations of ingest and go-github.
func format(w io.Writer, res *results, meta []string) error {
	for _, m := range meta {
		fmt.Fprintln(w, m)
	}
	runs := 0
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tingest\tfloor\tgo-github\tingest/floor\tgo-github/ingest\tingest allocs\tgo-github allocs\tingest B/op\t")
	for _, size := range res.sizes {
		in, fl, gh := res.by[key{size, pathIngest}], res.by[key{size, pathFloor}], res.by[key{size, pathGitHub}]
		if in == nil || fl == nil || gh == nil {
			return fmt.Errorf("size %s: want the %s, %s and %s sub-benchmarks", size, pathIngest, pathFloor, pathGitHub)
		}
		if len(in.ns) != len(fl.ns) || len(in.ns) != len(gh.ns) {
			return fmt.Errorf("size %s: %d, %d and %d runs of %s, %s and %s, want as many of each",
				size, len(in.ns), len(fl.ns), len(gh.ns), pathIngest, pathFloor, pathGitHub)
		}
		runs = max(runs, len(in.ns))
		// Each ratio is taken within one run, then the median over the runs.
		var overFloor, githubOver []float64
		for i := range in.ns {
			overFloor = append(overFloor, in.ns[i]/fl.ns[i])
			githubOver = append(githubOver, gh.ns[i]/in.ns[i])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f×\t%.2f×\t%.0f\t%.0f\t%s\t\n", size,
			duration(median(in.ns)), duration(median(fl.ns)), duration(median(gh.ns)), median(overFloor), median(githubOver),
			median(in.allocs), median(gh.allocs), bytesize(median(in.bytes)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "medians of %d runs; ingest/floor at most 1.00× from 100KB (1.20× at 8KB), go-github/ingest at least 3.00× from 100KB\n", runs)
	return nil
}

func duration(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.0f ns", ns)
	}
}

func bytesize(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}
