// Package demo seeds a believable, clearly marked demonstration catalogue for every pilot
// area: fictitious providers and courses (data/*.csv, every row flagged demo=true), loaded
// through the same checks as any import.
package demo

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

//go:embed data/*.csv
var files embed.FS

// Actor is recorded as the writer of the demo data.
const Actor = "demo-seed"

// leadDays is how far ahead of today the earliest demo course starts.
const leadDays = 14

// Seed loads the demo catalogue into cat when cat's store is empty, and reports how many
// providers and courses it wrote (zero when the store held anything). Start dates are
// moved on by whole weeks so that the earliest is two weeks after today: the demo always
// shows upcoming courses.
func Seed(ctx context.Context, cat *catalog.Catalog, today civil.Date) (providers, courses int, err error) {
	empty, err := cat.Empty(ctx)
	if err != nil {
		return 0, 0, err
	}
	ps, err := readProviders()
	if err != nil {
		return 0, 0, err
	}
	byArea, first, err := readCourses(cat)
	if err != nil {
		return 0, 0, err
	}
	if !empty {
		// A first start killed half-way through seeding leaves some demo records and
		// nothing else: finish the seed (every step is idempotent). A store with any
		// record of its own, or with the whole demo catalogue, is left alone.
		resume, err := interrupted(ctx, cat, ps, byArea)
		if err != nil || !resume {
			return 0, 0, err
		}
	}
	// Replicas starting together on an empty shared store all seed it: a provider
	// another has created is taken as it is, and the import of courses is idempotent.
	created := 0
	for _, p := range ps {
		_, err := cat.CreateProvider(ctx, Actor, p)
		switch {
		case err == nil:
			created++
		case !errors.Is(err, catalog.ErrAlreadyExists):
			return 0, 0, fmt.Errorf("demo provider %s: %w", p.UKPRN, err)
		}
	}
	shift := 0
	if want := today.AddDays(leadDays); !first.IsZero() && first.Before(want) {
		shift = (civil.DaysBetween(first, want) + 6) / 7 * 7
	}
	for _, a := range cat.Areas() {
		rows := byArea[a.Code]
		for i := range rows {
			if d := rows[i].Course.StartDate; !d.IsZero() {
				rows[i].Course.StartDate = d.AddDays(shift)
			}
		}
		res, err := cat.Import(ctx, Actor, a.Code, rows, false)
		if err != nil {
			return 0, 0, fmt.Errorf("demo courses of %s: %w", a.Code, err)
		}
		if res.Invalid > 0 {
			for _, rr := range res.Rows {
				if rr.Status == catalog.RowInvalid {
					return 0, 0, fmt.Errorf("demo course %s of %s breaks the area's rules: %v", rr.CourseID, a.Code, rr.Violations)
				}
			}
		}
		courses += res.Created
	}
	return created, courses, nil
}

// readCourses reads each area's demo courses and the earliest start date among them.
func readCourses(cat *catalog.Catalog) (map[string][]catalog.ImportRow, civil.Date, error) {
	byArea := map[string][]catalog.ImportRow{}
	first := civil.Date{}
	for _, a := range cat.Areas() {
		data, err := files.ReadFile("data/courses-" + a.Code + ".csv")
		if errors.Is(err, fs.ErrNotExist) {
			continue // an area added by configuration has no demo catalogue
		}
		if err != nil {
			return nil, civil.Date{}, err
		}
		r, err := catalog.NewCSVReader(bytes.NewReader(data))
		if err != nil {
			return nil, civil.Date{}, fmt.Errorf("demo courses of %s: %w", a.Code, err)
		}
		for {
			row, err := r.Read(a.Code)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, civil.Date{}, fmt.Errorf("demo courses of %s: %w", a.Code, err)
			}
			if d := row.Course.StartDate; !d.IsZero() && (first.IsZero() || d.Before(first)) {
				first = d
			}
			byArea[a.Code] = append(byArea[a.Code], row)
		}
	}
	return byArea, first, nil
}

// interrupted reports whether the store holds only demo records and not all of them: the
// trace of a first start that was stopped while seeding.
func interrupted(ctx context.Context, cat *catalog.Catalog, ps []catalog.Provider, byArea map[string][]catalog.ImportRow) (bool, error) {
	missing := false
	for _, p := range ps {
		got, err := cat.GetProvider(ctx, p.Area, p.UKPRN)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			missing = true
		case err != nil:
			return false, err
		case !got.Demo:
			return false, nil
		}
	}
	for area, rows := range byArea {
		for _, r := range rows {
			_, _, err := cat.GetCourse(ctx, area, r.Course.ID)
			switch {
			case errors.Is(err, catalog.ErrNotFound):
				missing = true
			case err != nil:
				return false, err
			}
		}
	}
	if !missing {
		return false, nil
	}
	// Something is missing: resume only if nothing in the store is the operator's own.
	for _, a := range cat.Areas() {
		provs, err := cat.ListProviders(ctx, a.Code, "", 1000)
		if err != nil {
			return false, err
		}
		for _, p := range provs {
			if !p.Demo {
				return false, nil
			}
		}
		courses, err := cat.ListCourses(ctx, a.Code, "", 1000)
		if err != nil {
			return false, err
		}
		for _, c := range courses {
			if !c.Demo {
				return false, nil
			}
		}
	}
	return true, nil
}

// readProviders reads data/providers.csv: area, ukprn, display_name, loan_facility and
// premises_postcodes (separated by ";").
func readProviders() ([]catalog.Provider, error) {
	data, err := files.ReadFile("data/providers.csv")
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 2 {
		return nil, fmt.Errorf("demo providers: unreadable (%v)", err)
	}
	var out []catalog.Provider
	for _, rec := range recs[1:] {
		if len(rec) != 5 {
			return nil, errors.New("demo providers: want 5 columns")
		}
		out = append(out, catalog.Provider{
			Area: rec[0], UKPRN: rec[1], Name: rec[2], LoanFacility: rec[3] == "true",
			Premises: strings.Split(rec[4], ";"), Demo: true,
		})
	}
	return out, nil
}
