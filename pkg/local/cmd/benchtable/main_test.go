package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-in", filepath.Join("testdata", "bench.txt")}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("run(-in testdata/bench.txt) error = %v", err)
	}
	// Columns are aligned with spaces; compare the words of each line.
	var lines []string
	for l := range strings.Lines(out.String()) {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"cpu: AMD EPYC",
		// 8KB: medians 60, 50 and 300 µs of three runs; ratios per run 1.10, 1.50 and
		// 1.30 (median 1.30, not 60/50) and 5.45, 5.17 and 4.46.
		"8KB 60.0 µs 50.0 µs 300.0 µs 1.30× 5.17× 90 310 16.0 KiB",
		"1MB 2.00 ms 4.00 ms 12.00 ms 0.50× 6.00× 1995 55666 1.39 MiB",
		"medians of 3 runs",
		// Cold start: one run of the benchmark, its own ratios (not 40/30).
		"cold start first answer vs minimal",
		"minimal 30.0 ms —",
		"ingest 40.0 ms 1.30×",
		"api 60.0 ms 2.00×",
		// Requests, as TestRequestsPerDelivery logged them.
		"relevant push 5 3 2.5 read, 6.0 write units; +1 stats writes, 1.0 units, per batch",
		"duplicate 1 0 0.0 read, 1.0 write units; +0 stats writes, 0.0 units, per batch",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("run() output =\n%s\nwant a line containing %q", got, want)
		}
	}
}

func TestParseRefusesOtherOutput(t *testing.T) {
	if _, _, err := parse(strings.NewReader("PASS\nok  \tpkg\t1.0s\n")); err == nil {
		t.Error("parse(no benchmark lines) error = nil, want an error")
	}
}

func TestFormatNeedsAllThreePaths(t *testing.T) {
	in := "BenchmarkIngest/8KB/ingest-2  10  60000 ns/op  100 B/op  9 allocs/op\n"
	res, meta, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("parse() error = %v", err)
	}
	if err := format(&bytes.Buffer{}, res, meta); err == nil {
		t.Error("format(only ingest) error = nil, want an error naming the missing paths")
	}
}
