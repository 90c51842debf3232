package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// coursesUsage is the help of the courses subcommand.
const coursesUsage = `usage:
  retrain courses import --area CODE [--dry-run] [--addr HOST:PORT] [--token JWT] FILE.csv
  retrain courses export --area CODE [--addr HOST:PORT] [--token JWT] [FILE.csv]

import sends an area's course catalogue (CSV, columns in services/courses/README.md) to a
running server and prints the result of every refused row; it exits non-zero if any row is
refused. export writes the area's catalogue as CSV to FILE.csv, or to standard output.
CODE is the area's ONS code, such as E37000060.
`

// importChunk is the size of the CSV pieces an import sends.
const importChunk = 256 << 10

// runCourses runs "retrain courses ..." against the gRPC server at --addr.
func runCourses(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		fmt.Fprint(stderr, coursesUsage)
		return flag.ErrHelp
	}
	cmd := args[0]
	fs := flag.NewFlagSet("retrain courses "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, coursesUsage) }
	area := fs.String("area", "", "ONS code of the area, such as E37000060 (required)")
	addr := fs.String("addr", "127.0.0.1:9090", "gRPC address of the retrain server")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	token := fs.String("token", "", "bearer token of a lep caller of the area (or admin); also RETRAIN_TOKEN; `retrain token` makes one for development")
	dryRun := false
	if cmd == "import" {
		fs.BoolVar(&dryRun, "dry-run", false, "validate every row and report, writing nothing")
	}
	files, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv("RETRAIN_TOKEN")
	}
	*area = strings.TrimPrefix(strings.TrimSpace(*area), "areas/")
	switch {
	case *area == "":
		return errors.New("courses: --area is required")
	case cmd == "import" && len(files) != 1:
		return errors.New("courses import: give exactly one CSV file")
	case cmd == "export" && len(files) > 1:
		return errors.New("courses export: give at most one output file")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*token)
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("courses: %w", err)
	}
	defer conn.Close()
	client := coursesv1.NewCoursesServiceClient(conn)
	parent := "areas/" + *area
	if cmd == "import" {
		return importCourses(ctx, client, parent, files[0], dryRun, stdout, stderr)
	}
	out := ""
	if len(files) == 1 {
		out = files[0]
	}
	return exportCourses(ctx, client, parent, out, stdout, stderr)
}

// parseInterleaved parses flags given before, between or after the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

func importCourses(ctx context.Context, client coursesv1.CoursesServiceClient, parent, path string, dryRun bool, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("courses import: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("courses import: %w", err)
	}
	bar := newProgress(stderr, "uploading", info.Size())
	stream, err := client.ImportCourses(ctx)
	if err != nil {
		return rpcError("courses import", err)
	}
	buf := make([]byte, importChunk)
	first := true
	for {
		n, rerr := io.ReadFull(f, buf)
		if n > 0 || first {
			msg := &coursesv1.ImportCoursesRequest{CsvData: buf[:n]}
			if first {
				msg.Parent, msg.DryRun = parent, dryRun
				first = false
			}
			if err := stream.Send(msg); err != nil {
				// The server ended the stream early; CloseAndRecv gives its status.
				break
			}
			bar.add(int64(n))
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("courses import: %w", rerr)
		}
	}
	bar.done("validating")
	resp, err := stream.CloseAndRecv()
	bar.finish()
	if err != nil {
		return rpcError("courses import", err)
	}
	for _, r := range resp.GetRows() {
		if r.GetStatus() != coursesv1.ImportRowStatus_IMPORT_ROW_STATUS_INVALID {
			continue
		}
		for _, v := range r.GetViolations() {
			fmt.Fprintf(stdout, "line %d %s: %s %s\n", r.GetRow(), r.GetCourseId(), v.GetField(), v.GetDescription())
		}
	}
	mode := ""
	if resp.GetDryRun() {
		mode = " (dry run: nothing written)"
	}
	fmt.Fprintf(stdout, "%s: %d created, %d updated, %d unchanged, %d refused%s\n", parent,
		resp.GetCreatedCount(), resp.GetUpdatedCount(), resp.GetUnchangedCount(), resp.GetInvalidCount(), mode)
	if n := resp.GetPartTimeOverLimitCount(); n > 0 {
		fmt.Fprintf(stdout, "%d part-time course(s) refused only for the area's part-time duration limit\n", n)
	}
	if resp.GetInvalidCount() > 0 {
		return fmt.Errorf("courses import: %d row(s) refused", resp.GetInvalidCount())
	}
	return nil
}

func exportCourses(ctx context.Context, client coursesv1.CoursesServiceClient, parent, path string, stdout, stderr io.Writer) (err error) {
	w := stdout
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("courses export: %w", err)
		}
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("courses export: %w", cerr)
			}
		}()
		w = f
	}
	stream, err := client.ExportCourses(ctx, &coursesv1.ExportCoursesRequest{Parent: parent})
	if err != nil {
		return rpcError("courses export", err)
	}
	bar := newProgress(stderr, "downloading", -1)
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bar.finish()
			return rpcError("courses export", err)
		}
		if _, err := w.Write(msg.GetCsvData()); err != nil {
			bar.finish()
			return fmt.Errorf("courses export: %w", err)
		}
		bar.add(int64(len(msg.GetCsvData())))
	}
	bar.finish()
	return nil
}

// rpcError turns a gRPC status into a plain error with its field violations.
func rpcError(what string, err error) error {
	st := status.Convert(err)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", what, st.Code(), st.Message())
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fmt.Fprintf(&b, "\n  %s %s", v.GetField(), v.GetDescription())
			}
		}
	}
	return errors.New(b.String())
}

// progress draws a progress bar on a terminal, and nothing elsewhere.
type progress struct {
	w        io.Writer
	on       bool
	label    string
	total    int64 // -1 when unknown
	n        int64
	lastDraw time.Time
}

func newProgress(w io.Writer, label string, total int64) *progress {
	p := &progress{w: w, label: label, total: total}
	if f, ok := w.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *progress) add(n int64) {
	p.n += n
	if p.on && time.Since(p.lastDraw) > 50*time.Millisecond {
		p.draw()
	}
}

func (p *progress) draw() {
	p.lastDraw = time.Now()
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%s %s", p.label, size(p.n))
		return
	}
	const width = 30
	filled := int(p.n * width / p.total)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3d%% %s/%s", p.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		p.n*100/p.total, size(p.n), size(p.total))
}

// done redraws the bar full and says what happens next.
func (p *progress) done(next string) {
	if p.on {
		p.draw()
		fmt.Fprintf(p.w, "  %s...", next)
	}
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
