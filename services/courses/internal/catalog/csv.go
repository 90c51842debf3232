package catalog

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nrs-pilots/retrain/platform/civil"
)

// CSV columns, in the order export writes them. Import matches columns by header name in
// any order; learner_cost_pence is written by export and ignored by import, since the
// service computes it. services/courses/README.md documents each column.
var (
	CSVColumns = []string{
		"course_id", "learning_aim_reference", "title", "description", "level",
		"sector_subject_area", "awarding_body", "provider_ukprn", "venue_postcode",
		"delivery_mode", "study_mode", "attendance_pattern", "duration_value", "duration_unit",
		"start_date", "flexible_start", "full_cost_pence", "modular", "discount_percent",
		"learner_cost_pence", "demo",
	}
	requiredColumns = []string{
		"course_id", "learning_aim_reference", "title", "level", "provider_ukprn",
		"delivery_mode", "study_mode", "duration_value", "duration_unit", "full_cost_pence",
		"discount_percent",
	}
)

// ImportRow is one course of an import, as read, with the violations found while reading it.
type ImportRow struct {
	// Row is the CSV line number (the header is line 1) or the message position.
	Row        int
	Course     Course
	Violations []Violation
}

// CSVReader reads an import file row by row.
type CSVReader struct {
	r    *csv.Reader
	cols map[string]int
}

// NewCSVReader reads the header of an import file. Lines starting with # are comments.
// Errors: *ValidationError (field csv_data) for a missing or unusable header.
func NewCSVReader(r io.Reader) (*CSVReader, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalid(violations{{Field: "csv_data", Description: "is empty: the first line must be the header"}})
		}
		return nil, invalid(violations{{Field: "csv_data", Description: "header: " + csvError(err)}})
	}
	cols := map[string]int{}
	var vs violations
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case !containsString(CSVColumns, h):
			vs.add("csv_data", fmt.Sprintf("header: column %d (%.40q) is not a known column", i+1, h))
		case cols[h] != 0:
			vs.add("csv_data", fmt.Sprintf("header: column %q repeats", h))
		}
		cols[h] = i + 1 // 1-based so that 0 means absent
	}
	for _, c := range requiredColumns {
		if cols[c] == 0 {
			vs.add("csv_data", fmt.Sprintf("header: required column %q is missing", c))
		}
	}
	if err := invalid(vs); err != nil {
		return nil, err
	}
	return &CSVReader{r: cr, cols: cols}, nil
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// csvError describes a CSV syntax error without repeating the file's content.
func csvError(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %v", pe.Line, pe.Err)
	}
	return "unreadable"
}

// Read returns the next row, or io.EOF. A row that is not valid CSV ends the file with a
// *ValidationError.
func (r *CSVReader) Read(area string) (ImportRow, error) {
	rec, err := r.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return ImportRow{}, io.EOF
		}
		return ImportRow{}, invalid(violations{{Field: "csv_data", Description: csvError(err)}})
	}
	line, _ := r.r.FieldPos(0)
	get := func(col string) string {
		if i := r.cols[col]; i > 0 && i <= len(rec) {
			return strings.TrimSpace(rec[i-1])
		}
		return ""
	}
	row := ImportRow{Row: line}
	var vs violations
	co := Course{
		Area: area, ID: get("course_id"), LearningAim: get("learning_aim_reference"),
		Title: get("title"), Description: get("description"), Sector: get("sector_subject_area"),
		AwardingBody: get("awarding_body"), ProviderUKPRN: get("provider_ukprn"), VenuePostcode: get("venue_postcode"),
	}
	if s := get("level"); s != "" {
		l, ok := ParseLevel(s)
		if !ok {
			vs.add("level", "must be E or 1 to 8")
		}
		co.Level = l
	}
	enum := func(col string, parse func(string) error) {
		if s := get(col); s != "" {
			if err := parse(s); err != nil {
				vs.add(col, err.Error())
			}
		}
	}
	enum("delivery_mode", func(s string) (err error) { co.Delivery, err = ParseDeliveryMode(s); return })
	enum("study_mode", func(s string) (err error) { co.Study, err = ParseStudyMode(s); return })
	enum("attendance_pattern", func(s string) (err error) { co.Attendance, err = ParseAttendancePattern(s); return })
	enum("duration_unit", func(s string) (err error) { co.DurationUnit, err = ParseDurationUnit(s); return })
	integer := func(col string, bits int) int64 {
		s := get(col)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			vs.add(col, "must be a whole number")
		}
		return n
	}
	co.DurationValue = int32(integer("duration_value", 32))
	co.FullCostPence = integer("full_cost_pence", 64)
	co.DiscountPercent = int32(integer("discount_percent", 32))
	boolean := func(col string) bool {
		switch strings.ToLower(get(col)) {
		case "", "false", "no", "n", "0":
			return false
		case "true", "yes", "y", "1":
			return true
		}
		vs.add(col, "must be true or false")
		return false
	}
	co.FlexibleStart = boolean("flexible_start")
	co.Modular = boolean("modular")
	co.Demo = boolean("demo")
	if s := get("start_date"); s != "" {
		d, err := civil.Parse(s)
		if err != nil {
			vs.add("start_date", err.Error())
		}
		co.StartDate = d
	}
	row.Course, row.Violations = co, vs
	return row, nil
}

// boolText writes a CSV boolean.
func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// ExportCSV writes the courses of area to w in the import format, in id order.
// Errors: ErrNotFound for an unknown area, and w's errors.
func (c *Catalog) ExportCSV(ctx context.Context, area string, w io.Writer) error {
	if _, err := c.area(area); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return err
	}
	rec := make([]string, len(CSVColumns))
	for after := ""; ; {
		page, err := c.store.ListCourses(ctx, area, after, 500)
		if err != nil {
			return err
		}
		for _, co := range page {
			start := ""
			if !co.FlexibleStart {
				start = co.StartDate.String()
			}
			rec = rec[:0]
			rec = append(rec, co.ID, co.LearningAim, co.Title, co.Description, co.Level.String(),
				co.Sector, co.AwardingBody, co.ProviderUKPRN, co.VenuePostcode,
				co.Delivery.String(), co.Study.String(), co.Attendance.String(),
				strconv.Itoa(int(co.DurationValue)), co.DurationUnit.String(), start,
				boolText(co.FlexibleStart), strconv.FormatInt(co.FullCostPence, 10), boolText(co.Modular),
				strconv.Itoa(int(co.DiscountPercent)), strconv.FormatInt(co.LearnerCostPence, 10), boolText(co.Demo))
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	cw.Flush()
	return cw.Error()
}
