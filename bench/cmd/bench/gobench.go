package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// benchLine is one result line of `go test -bench`: the benchmark's name (without the
// -GOMAXPROCS suffix), its iterations and its metrics by unit (ns/op, p99-ns, ...).
type benchLine struct {
	name    string
	n       int
	metrics map[string]float64
}

// goBench runs `go test -run '^$' -bench pattern -benchtime Nx pkg` in the repository
// root and returns its result lines. Benchmarks that live in a service's internal package
// cannot be imported across modules, so the harness runs them the way a developer would.
func goBench(ctx context.Context, root, pkg, pattern string, iters int) ([]benchLine, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", pattern, "-benchtime", fmt.Sprintf("%dx", iters), "-count", "1", pkg)
	cmd.Dir = root
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s %s: %w\n%s%s", pattern, pkg, err, out.String(), stderr.String())
	}
	lines, err := parseBench(out.Bytes())
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("go test -bench %s %s: no benchmark ran:\n%s", pattern, pkg, out.String())
	}
	return lines, nil
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads the result lines of `go test -bench` output.
func parseBench(out []byte) ([]benchLine, error) {
	var lines []benchLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue // a log line that starts like a benchmark name
		}
		l := benchLine{name: procsSuffix.ReplaceAllString(f[0], ""), n: n, metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: metric %q is not a number", sc.Text(), f[i])
			}
			l.metrics[f[i+1]] = v
		}
		lines = append(lines, l)
	}
	return lines, sc.Err()
}

// progressf writes a progress line to stderr.
func progressf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
