package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/bench/internal/baseline"
	"github.com/nrs-pilots/retrain/bench/internal/load"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// row is one measured line of the report.
type row struct {
	group  string // what is compared, e.g. "gRPC check"
	target string // what was driven, e.g. "retrain" or "bare gRPC echo"
	items  int    // items one call carries (events of a batch, records of a raw write); 0 is 1
	res    load.Result
	cpu    float64 // CPU cores the all-in-one binary used during the run (0: not measured)
	disk   float64 // bytes written to storage per item, for durable writes (0: not measured)
}

// itemsPerSecond is the row's throughput in items.
func (r row) itemsPerSecond() float64 { return r.res.RPS() * float64(max(r.items, 1)) }

// report is everything one run measured.
type report struct {
	started  time.Time
	commit   string
	quick    bool
	rows     []row
	rssIdle  int64
	rssEnd   int64
	memory   []memPoint // resident size of the all-in-one binary as the run went on
	duration time.Duration
	notes    []string
	// loadStart and loadEnd are the machine's 1-minute load average at the start and the
	// end of the run: the CPU other processes took from a shared machine.
	loadStart, loadEnd string

	// Course search: the in-process benchmark's lines, the catalogue loaded into the
	// binary through ImportCourses and the search over REST at concurrency 1.
	searchInProcess []benchLine
	coursesLoaded   int
	importTook      time.Duration
	searchREST      *load.Result
	searchMatches   float64       // mean courses a search over REST found
	searchCPU       time.Duration // the binary's CPU per search over REST

	// Attribution: the in-process benchmark's lines and the reports over gRPC.
	attrInProcess []benchLine
	attrRPC       []attributionTiming
	eventsHeld    int // events held when the reports were timed
	eventsEnd     int // events held after the write runs
}

// memPoint is the resident size of the all-in-one binary at a point of the run.
type memPoint struct {
	when string
	rss  int64
}

// Names of the durable write rows.
const (
	groupWrites     = "durable writes"
	boltSingle      = "raw bbolt, fsync per write"
	boltBatch       = "raw bbolt, DB.Batch"
	boltBatch100    = "raw bbolt, DB.Batch of 100 records"
	writeAssessment = "retrain: assessments (CreateAssessment)"
	writeEvents     = "retrain: events, batches of 100 (RecordEvents)"
	writeCourses    = "retrain: courses (CreateCourse)"
)

func (h *harness) measure(ctx context.Context) (*report, error) {
	rep := &report{started: time.Now(), commit: gitCommit(h.o.root), duration: h.o.duration, quick: h.o.quick, loadStart: loadAverage()}
	// Idle memory: after start-up and the two sample checks, before any load.
	time.Sleep(2 * time.Second)
	var err error
	if rep.rssIdle, err = h.retrain.RSS(); err != nil {
		return nil, err
	}
	rep.memory = append(rep.memory, memPoint{"idle after start, with demo data", rep.rssIdle})
	mark := func(when string) {
		if rss, err := h.retrain.RSS(); err == nil {
			rep.memory = append(rep.memory, memPoint{when, rss})
		}
	}
	ws, err := h.prepareWrites(ctx)
	if err != nil {
		return nil, err
	}
	// Attribution first: the reports scan every event the binary holds, so they are timed
	// while it holds exactly the events recorded for them, before the write runs add more.
	if err := h.attribution(ctx, rep, ws); err != nil {
		return nil, err
	}
	if rep.eventsHeld > 0 {
		mark(fmt.Sprintf("holding %d events (after the attribution reports)", rep.eventsHeld))
	}
	opts := func(c int) load.Options {
		return load.Options{Concurrency: c, Warmup: h.o.warmup, Duration: h.o.duration}
	}
	add := func(group, target string, items int, res load.Result, cpu, disk float64) {
		r := row{group: group, target: target, items: items, res: res, cpu: cpu, disk: disk}
		h.progress(r)
		rep.rows = append(rep.rows, r)
	}
	// onRetrain runs fn and returns the CPU cores the all-in-one binary used meanwhile.
	onRetrain := func(fn func() (load.Result, error)) (load.Result, float64, error) {
		cpu0, t0 := cpuSeconds(h.retrain.PID()), time.Now()
		res, err := fn()
		return res, (cpuSeconds(h.retrain.PID()) - cpu0) / time.Since(t0).Seconds(), err
	}

	for _, c := range h.o.concurrency {
		// gRPC: the check against the bare echo, with the same client set-up.
		for _, t := range []struct{ name, addr string }{{"bare gRPC echo", h.addrs.GRPCEcho}, {"retrain", h.grpc}} {
			res, cpu, err := onRetrain(func() (load.Result, error) { return grpcCheckLoad(ctx, t.addr, h.token, opts(c)) })
			if err != nil {
				return nil, err
			}
			if t.addr != h.grpc {
				cpu = 0
			}
			add("gRPC check", t.name, 1, res, cpu, 0)
		}
		// REST: bare net/http, the gateway over the bare echo, and the real thing.
		for _, t := range []struct{ name, url string }{
			{"bare net/http echo", "http://" + h.addrs.HTTPEcho + "/v1/eligibility:check"},
			{"gateway over gRPC echo", "http://" + h.addrs.GatewayEcho + "/v1/eligibility:check"},
			{"retrain", "http://" + h.http + "/v1/eligibility:check"},
		} {
			res, cpu, _ := onRetrain(func() (load.Result, error) { return restCheckLoad(ctx, t.url, h.token, opts(c)), nil })
			if t.name != "retrain" {
				cpu = 0
			}
			add("REST check", t.name, 1, res, cpu, 0)
		}
		// Durable writes: the floor every service's writes are measured against, then the
		// services' own writes through the binary with the same number of writers.
		for _, b := range []struct {
			name string
			o    baseline.BoltOptions
		}{
			{boltSingle, baseline.BoltOptions{Records: 1, Value: 256}},
			{boltBatch, baseline.BoltOptions{Batched: true, Records: 1, Value: 256}},
			{boltBatch100, baseline.BoltOptions{Batched: true, Records: 100, Value: 96}},
		} {
			dir, err := os.MkdirTemp(h.tmp, "bolt-")
			if err != nil {
				return nil, err
			}
			w0 := writeBytes(os.Getpid())
			res, err := baseline.BoltWrites(ctx, dir, b.o, opts(c))
			if err != nil {
				return nil, err
			}
			_ = os.RemoveAll(dir)
			disk := perItem(writeBytes(os.Getpid())-w0, res.Calls*b.o.Records)
			add(groupWrites, b.name, b.o.Records, res, 0, disk)
		}
		for _, wr := range []struct {
			name  string
			items int
			run   func(context.Context, string, *writeSetup, load.Options) (load.Result, error)
		}{
			{writeAssessment, 1, assessmentLoad},
			{writeEvents, 100, func(ctx context.Context, addr string, ws *writeSetup, o load.Options) (load.Result, error) {
				return eventLoad(ctx, addr, ws, 100, o)
			}},
			{writeCourses, 1, courseLoad},
		} {
			w0 := writeBytes(h.retrain.PID())
			res, cpu, err := onRetrain(func() (load.Result, error) { return wr.run(ctx, h.grpc, ws, opts(c)) })
			if err != nil {
				return nil, err
			}
			add(groupWrites, wr.name, wr.items, res, cpu, perItem(writeBytes(h.retrain.PID())-w0, res.Calls*wr.items))
		}
	}

	rep.eventsEnd = int(ws.events.Load())
	mark(fmt.Sprintf("after the write runs (holding %d events)", rep.eventsEnd))
	if err := h.courseSearch(ctx, rep, ws.run); err != nil {
		return nil, err
	}
	if rep.rssEnd, err = h.retrain.RSS(); err != nil {
		return nil, err
	}
	rep.loadEnd = loadAverage()
	end := "end of the run"
	if rep.coursesLoaded > 0 {
		end += fmt.Sprintf(", after importing %d courses", rep.coursesLoaded)
	}
	rep.memory = append(rep.memory, memPoint{end, rep.rssEnd})
	return rep, nil
}

// courseSearch measures course search: in process with the courses service's own
// benchmark (100,000 courses), and over REST at concurrency 1 after importing o.courses
// generated courses into the running binary.
func (h *harness) courseSearch(ctx context.Context, rep *report, run string) error {
	progressf("course search in process: go test -bench BenchmarkSearch (%d iterations)", h.o.searchIters)
	lines, err := goBench(ctx, h.o.root, "./services/courses/internal/catalog/", "^BenchmarkSearch$", h.o.searchIters)
	if err != nil {
		rep.notes = append(rep.notes, "Course search in process not measured: "+firstLine(err))
		progressf("course search in process failed: %v", err)
	}
	rep.searchInProcess = lines
	for _, l := range lines {
		progressf("%-50s p50=%v p99=%v", l.name, nsDuration(l.metrics["p50-ns"]), nsDuration(l.metrics["p99-ns"]))
	}
	if h.o.courses == 0 {
		return nil
	}
	progressf("importing %d courses through ImportCourses", h.o.courses)
	if rep.coursesLoaded, rep.importTook, err = h.loadCourses(ctx, run, h.o.courses); err != nil {
		return err
	}
	progressf("imported %d courses in %v (%.0f rows/s)", rep.coursesLoaded, rep.importTook.Round(time.Millisecond), float64(rep.coursesLoaded)/rep.importTook.Seconds())
	if rep.searchMatches, err = searchMatches(ctx, "http://"+h.http, h.token); err != nil {
		return err
	}
	if rep.searchMatches == 0 {
		return fmt.Errorf("course search over REST found no course: the figures would not be a search's")
	}
	cpu0, t0 := cpuSeconds(h.retrain.PID()), time.Now()
	res := restSearchLoad(ctx, "http://"+h.http, h.token, load.Options{Concurrency: 1, Warmup: h.o.warmup, Duration: h.o.duration})
	cpuSecs, wall := cpuSeconds(h.retrain.PID())-cpu0, time.Since(t0)
	h.progress(row{group: "course search", target: "retrain REST", items: 1, res: res, cpu: cpuSecs / wall.Seconds()})
	rep.searchREST = &res
	if res.Calls > 0 {
		rep.searchCPU = time.Duration(cpuSecs / float64(res.Calls) * float64(time.Second))
	}
	return nil
}

// attribution times an attribution report over 1,000,000 events for every model: in
// process with the outreach service's own benchmark, and over gRPC once the binary holds
// o.events events recorded through RecordEvents.
func (h *harness) attribution(ctx context.Context, rep *report, ws *writeSetup) error {
	progressf("attribution in process: go test -bench ^BenchmarkReport$ (%d iterations)", h.o.reportIters)
	lines, err := goBench(ctx, h.o.root, "./services/outreach/internal/attribution/", "^BenchmarkReport$", h.o.reportIters)
	if err != nil {
		rep.notes = append(rep.notes, "Attribution in process not measured: "+firstLine(err))
		progressf("attribution in process failed: %v", err)
	}
	rep.attrInProcess = lines
	for _, l := range lines {
		progressf("%-50s %v", l.name, nsDuration(l.metrics["ns/op"]).Round(time.Millisecond))
	}
	if h.o.events == 0 {
		return nil
	}
	t0 := time.Now()
	progressf("recording %d events through RecordEvents", h.o.events)
	held, err := topUpEvents(ctx, h.grpc, ws, h.o.events)
	if err != nil {
		return fmt.Errorf("record events for the attribution reports: %w", err)
	}
	progressf("the binary holds %d events (recorded in %v)", held, time.Since(t0).Round(time.Second))
	rep.eventsHeld = held
	if rep.attrRPC, err = rpcReports(ctx, h.grpc, ws, h.o.reportIters); err != nil {
		return err
	}
	return nil
}

// loadAverage is the machine's 1-minute load average, from /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

// perItem is bytes per item, 0 when nothing was measured.
func perItem(bytes int64, items int) float64 {
	if bytes <= 0 || items <= 0 {
		return 0
	}
	return float64(bytes) / float64(items)
}

func nsDuration(ns float64) time.Duration { return time.Duration(ns) }

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func (h *harness) progress(x row) {
	r := x.res
	fmt.Fprintf(os.Stderr, "bench: %-15s %-46s c=%-3d %9.0f/s p50=%-9v p99=%-9v errors=%d cpu=%.2f disk=%.0fB/item\n",
		x.group, x.target, r.Concurrency, x.itemsPerSecond(), r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors, x.cpu, x.disk)
	if r.FirstError != nil {
		fmt.Fprintf(os.Stderr, "bench:   first error: %v\n", r.FirstError)
	}
}

// clientConns are shared by the workers of a run: one HTTP/2 connection per 16 workers,
// the same for the service and its baseline.
func clientConns(addr, token string, concurrency int) ([]*grpc.ClientConn, error) {
	n := (concurrency + 15) / 16
	conns := make([]*grpc.ClientConn, 0, n)
	for i := 0; i < n; i++ {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// grpcCheckLoad drives the check over gRPC. Every call carries the token, baselines
// included, so requests are byte for byte the same.
func grpcCheckLoad(ctx context.Context, addr, token string, o load.Options) (load.Result, error) {
	conns, err := clientConns(addr, token, o.Concurrency)
	if err != nil {
		return load.Result{}, err
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	clients := make([]eligibilityv1.EligibilityServiceClient, len(conns))
	for i, c := range conns {
		clients[i] = eligibilityv1.NewEligibilityServiceClient(c)
	}
	req := eligibleRequest()
	return load.Run(ctx, o, func(ctx context.Context, w, _ int) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := clients[w%len(clients)].CheckEligibility(ctx, req)
		return err
	}), nil
}

func restCheckLoad(ctx context.Context, url, token string, o load.Options) load.Result {
	tr := &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return load.Run(ctx, o, func(ctx context.Context, _, _ int) error {
		_, status, err := postJSON(client, url, eligibleJSON, token)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d", status)
		}
		return err
	})
}

func gitCommit(root string) string {
	out, err := execOutput(root, "git", "rev-parse", "--short", "HEAD")
	if err != nil {
		return "unknown"
	}
	return out
}

func machine() string {
	mem := "unknown memory"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%d cores, %s, %s/%s, %s", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
