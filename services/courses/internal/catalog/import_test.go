package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

const header = "course_id,learning_aim_reference,title,description,level,sector_subject_area,awarding_body,provider_ukprn,venue_postcode,delivery_mode,study_mode,attendance_pattern,duration_value,duration_unit,start_date,flexible_start,full_cost_pence,modular,discount_percent\n"

const goodCSV = header +
	"care-1,60318011,Level 3 Diploma in Adult Care,\"Care, safeguarding\",3,1.3,NCFE CACHE,10000001,LN1 3BL,classroom,part-time,evening,30,weeks,2027-01-11,false,245000,true,75\n" +
	"# a comment line\n" +
	"acc-online,60323452,AAT Level 3 Diploma in Accounting,,3,15.1,AAT,10000001,,online,flexible,,6,months,,true,185000,yes,100\n"

const badCSV = header +
	"ok-1,60318011,Level 3 Diploma in Adult Care,,3,1.3,NCFE,10000001,LN1 3BL,Classroom,Part Time,Evening,30,weeks,2027-01-11,,245000,,25\n" +
	"low-level,60318011,Level 2 Care,,2,1.3,NCFE,10000001,LN1 3BL,classroom,part-time,evening,30,weeks,2027-01-11,,245000,,25\n" +
	"too-long,60318011,Long part-time care,,3,1.3,NCFE,10000001,LN1 3BL,classroom,part-time,evening,18,months,2027-01-11,,245000,,25\n" +
	"garbage,6031,T,,nine,1.3,NCFE,123,NOPE,bus,sometimes,evening,x,fortnights,2027-02-30,maybe,lots,,33\n" +
	"ok-1,60318011,Repeat of ok-1,,3,1.3,NCFE,10000001,LN1 3BL,classroom,part-time,evening,30,weeks,2027-01-11,,245000,,25\n"

func readAll(t *testing.T, area, data string) []catalog.ImportRow {
	t.Helper()
	r, err := catalog.NewCSVReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var rows []catalog.ImportRow
	for {
		row, err := r.Read(area)
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

func statuses(res catalog.ImportResult) []catalog.RowStatus {
	var out []catalog.RowStatus
	for _, r := range res.Rows {
		out = append(out, r.Status)
	}
	return out
}

func TestImportGoodThenRepeated(t *testing.T) {
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	ctx := context.Background()
	res, err := f.cat.Import(ctx, "lep", lincs, readAll(t, lincs, goodCSV), true)
	if err != nil || res.Created != 2 || !res.DryRun {
		t.Fatalf("dry run = %+v, %v, want 2 created", res, err)
	}
	if cs, _ := f.cat.ListCourses(ctx, lincs, "", 0); len(cs) != 0 {
		t.Fatalf("dry run wrote %d courses", len(cs))
	}
	res, err = f.cat.Import(ctx, "lep", lincs, readAll(t, lincs, goodCSV), false)
	if err != nil || !slices.Equal(statuses(res), []catalog.RowStatus{catalog.RowCreated, catalog.RowCreated}) {
		t.Fatalf("import = %+v, %v, want 2 created", res, err)
	}
	if res.Rows[0].Row != 2 || res.Rows[1].Row != 4 {
		t.Errorf("row numbers = %d, %d, want the CSV lines 2 and 4", res.Rows[0].Row, res.Rows[1].Row)
	}
	stored, _ := f.cat.ListCourses(ctx, lincs, "", 0)
	if len(stored) != 2 || stored[1].LearnerCostPence != 61250 || stored[1].Description != "Care, safeguarding" || stored[0].LearnerCostPence != 0 {
		t.Errorf("stored = %+v", stored)
	}
	again, err := f.cat.Import(ctx, "lep", lincs, readAll(t, lincs, goodCSV), false)
	if err != nil || again.Unchanged != 2 || again.Created+again.Updated != 0 {
		t.Errorf("repeated import = %+v, %v, want 2 unchanged", again, err)
	}
	after, _ := f.cat.ListCourses(ctx, lincs, "", 0)
	if !after[0].UpdateTime.Equal(stored[0].UpdateTime) {
		t.Error("repeated import rewrote an unchanged course")
	}
	changed := strings.Replace(goodCSV, ",245000,", ",250000,", 1)
	res, err = f.cat.Import(ctx, "lep", lincs, readAll(t, lincs, changed), false)
	if err != nil || res.Updated != 1 || res.Unchanged != 1 {
		t.Errorf("import with one change = %+v, %v, want 1 updated, 1 unchanged", res, err)
	}
	// Export gives back a file that imports as unchanged.
	var buf bytes.Buffer
	if err := f.cat.ExportCSV(ctx, lincs, &buf); err != nil {
		t.Fatal(err)
	}
	res, err = f.cat.Import(ctx, "lep", lincs, readAll(t, lincs, buf.String()), false)
	if err != nil || res.Unchanged != 2 {
		t.Errorf("re-import of the export = %+v, %v, want 2 unchanged\n%s", res, err, buf.String())
	}
}

func TestImportBadRows(t *testing.T) {
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	res, err := f.cat.Import(context.Background(), "lep", lincs, readAll(t, lincs, badCSV), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.RowStatus{catalog.RowCreated, catalog.RowInvalid, catalog.RowInvalid, catalog.RowInvalid, catalog.RowInvalid}
	if !slices.Equal(statuses(res), want) {
		t.Fatalf("statuses = %v, want %v (%+v)", statuses(res), want, res.Rows)
	}
	fieldsOf := func(r catalog.RowResult) []string {
		var out []string
		for _, v := range r.Violations {
			out = append(out, v.Field)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	wantFields := [][]string{
		nil,
		{"level"},
		{"duration_value"},
		{"delivery_mode", "discount_percent", "duration_unit", "duration_value", "flexible_start", "full_cost_pence", "learning_aim_reference", "level", "provider_ukprn", "start_date", "study_mode", "venue_postcode"},
		{"course_id"},
	}
	for i, r := range res.Rows {
		if got := fieldsOf(r); !slices.Equal(got, wantFields[i]) {
			t.Errorf("row %d violations = %v, want %v", r.Row, got, wantFields[i])
		}
		for _, v := range r.Violations {
			if strings.Contains(v.Description, "NOPE") || strings.Contains(v.Description, "fortnights") {
				t.Errorf("row %d: description repeats the value: %q", r.Row, v.Description)
			}
		}
	}
	if res.PartTimeOverLimit != 1 || res.Invalid != 4 || res.Created != 1 {
		t.Errorf("counts = %+v, want 1 created, 4 invalid, 1 part-time over the limit", res)
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	tests := []struct{ name, data string }{
		{"empty", ""},
		{"unknown column", "course_id,colour\n"},
		{"missing required", "course_id,title\n"},
		{"repeated column", strings.TrimSuffix(header, "\n") + ",title\n"},
		{"bad quoting", "\"course_id\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalog.NewCSVReader(strings.NewReader(tt.data))
			if got := fields(err); len(got) == 0 || got[0] != "csv_data" {
				t.Errorf("NewCSVReader(%q) = %v, want a csv_data violation", tt.data, err)
			}
		})
	}
}
