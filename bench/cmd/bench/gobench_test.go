package main

import (
	"os"
	"testing"
	"time"
)

func TestParseBench(t *testing.T) {
	out := []byte(`goos: linux
goarch: amd64
pkg: github.com/nrs-pilots/retrain/services/courses/internal/catalog
cpu: AMD EPYC
BenchmarkSearch/postcode+20mi+keyword+level-2         	    2000	    135411 ns/op	        89.64 index-MiB	       639.8 matches/op	     92427 p50-ns	    424590 p99-ns	   15660 B/op	      21 allocs/op
BenchmarkReport/markov/by=channel-16          	       3	  93247704 ns/op
BenchmarkSearch is a log line that starts like one
PASS
ok  	github.com/nrs-pilots/retrain/services/courses/internal/catalog	7.830s
`)
	lines, err := parseBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %+v", len(lines), lines)
	}
	tests := []struct {
		line   int
		name   string
		n      int
		metric string
		want   float64
	}{
		{0, "BenchmarkSearch/postcode+20mi+keyword+level", 2000, "p99-ns", 424590},
		{0, "BenchmarkSearch/postcode+20mi+keyword+level", 2000, "matches/op", 639.8},
		{0, "BenchmarkSearch/postcode+20mi+keyword+level", 2000, "allocs/op", 21},
		{1, "BenchmarkReport/markov/by=channel", 3, "ns/op", 93247704},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.metric, func(t *testing.T) {
			l := lines[tt.line]
			if l.name != tt.name || l.n != tt.n {
				t.Errorf("line %d: name %q n %d, want %q %d", tt.line, l.name, l.n, tt.name, tt.n)
			}
			if got := l.metrics[tt.metric]; got != tt.want {
				t.Errorf("%s = %v, want %v", tt.metric, got, tt.want)
			}
		})
	}
}

func TestParseBenchRejectsBadMetric(t *testing.T) {
	if _, err := parseBench([]byte("BenchmarkX-2 10 abc ns/op\n")); err == nil {
		t.Fatal("a metric that is not a number was accepted")
	}
}

func TestParseFlagsQuick(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		duration time.Duration
		courses  int
		out      string
	}{
		{"full defaults", nil, 5 * time.Second, 100_000, "docs/benchmarks.md"},
		{"quick", []string{"-quick"}, time.Second, 10_000, ""},
		{"quick keeps explicit flags", []string{"-quick", "-duration", "2s", "-out", "x.md"}, 2 * time.Second, 10_000, "x.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if o.duration != tt.duration || o.courses != tt.courses || o.out != tt.out {
				t.Errorf("duration %v courses %d out %q, want %v %d %q", o.duration, o.courses, o.out, tt.duration, tt.courses, tt.out)
			}
		})
	}
}

func TestCPUSeconds(t *testing.T) {
	before := cpuSeconds(os.Getpid())
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
	}
	if after := cpuSeconds(os.Getpid()); after <= before || after-before > 10 {
		t.Fatalf("cpuSeconds went from %v to %v over 50ms of spinning", before, after)
	}
}
