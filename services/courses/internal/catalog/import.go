package catalog

import (
	"context"
	"fmt"
)

// RowStatus is what an import did with one row. The numbers match the API's enum.
type RowStatus uint8

// The row statuses.
const (
	RowUnset RowStatus = iota
	RowCreated
	RowUpdated
	RowUnchanged
	RowInvalid
)

// RowResult is the answer for one row of an import.
type RowResult struct {
	Row        int
	CourseID   string
	Status     RowStatus
	Violations []Violation
}

// ImportResult is the answer to an import.
type ImportResult struct {
	Rows                                 []RowResult
	Created, Updated, Unchanged, Invalid int
	// PartTimeOverLimit counts part-time rows refused for the part-time duration limit alone.
	PartTimeOverLimit int
	DryRun            bool
}

// importBatch is how many courses are written in one store transaction.
const importBatch = 1000

// Import validates every row against the area's rules and writes the valid rows that
// change something (nothing when dryRun). A row is refused whole or written whole; an
// invalid row never stops the others. Rows are matched to stored courses by id, so
// importing the same rows again reports them unchanged and writes nothing; a course id
// that repeats within the import is refused after its first row.
// Errors: ErrNotFound for an unknown area, store errors.
func (c *Catalog) Import(ctx context.Context, actor, area string, rows []ImportRow, dryRun bool) (ImportResult, error) {
	a, err := c.area(area)
	if err != nil {
		return ImportResult{}, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	providers := map[string]*Provider{}
	for after := ""; ; {
		ps, err := c.store.ListProviders(ctx, area, after, 1000)
		if err != nil {
			return ImportResult{}, err
		}
		for i := range ps {
			providers[ps[i].UKPRN] = &ps[i]
		}
		if len(ps) < 1000 {
			break
		}
		after = ps[len(ps)-1].UKPRN
	}
	res := ImportResult{DryRun: dryRun, Rows: make([]RowResult, 0, len(rows))}
	firstRow := map[string]int{}
	var pending []Course
	flush := func() error {
		if dryRun || len(pending) == 0 {
			pending = pending[:0]
			return nil
		}
		if err := c.store.PutCourses(ctx, pending); err != nil {
			return err
		}
		ix := c.index(area)
		for _, co := range pending {
			ix.put(co, c.dir)
		}
		pending = pending[:0]
		return nil
	}
	now := c.stamp()
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return ImportResult{}, err
		}
		co := row.Course
		co.Area = area
		normaliseCourse(&co)
		rr := RowResult{Row: row.Row, CourseID: co.ID}
		vs := violations(append([]Violation(nil), row.Violations...))
		prov := providers[co.ProviderUKPRN]
		for _, v := range c.prepare(a, prov, &co) {
			if !hasField(vs, v.Field) || v.Rule != "" {
				vs = append(vs, v)
			}
		}
		if first, ok := firstRow[co.ID]; ok && co.ID != "" {
			vs.add("course_id", fmt.Sprintf("repeats the course of row %d", first))
		} else if co.ID != "" {
			firstRow[co.ID] = row.Row
		}
		if len(vs) > 0 {
			rr.Status, rr.Violations = RowInvalid, vs
			res.Invalid++
			if len(vs) == 1 && vs[0].Rule == RulePartTimeDuration {
				res.PartTimeOverLimit++
			}
			res.Rows = append(res.Rows, rr)
			continue
		}
		old, err := c.store.GetCourse(ctx, area, co.ID)
		switch {
		case err == nil && old.sameContent(co):
			rr.Status = RowUnchanged
			res.Unchanged++
		case err == nil:
			co.CreateTime, co.UpdateTime, co.UpdatedBy = old.CreateTime, now, actor
			rr.Status = RowUpdated
			res.Updated++
			pending = append(pending, co)
		case isNotFound(err):
			co.CreateTime, co.UpdateTime, co.UpdatedBy = now, now, actor
			rr.Status = RowCreated
			res.Created++
			pending = append(pending, co)
		default:
			return ImportResult{}, err
		}
		if prov != nil {
			c.index(area).setProviderName(prov.UKPRN, prov.Name)
		}
		res.Rows = append(res.Rows, rr)
		if len(pending) >= importBatch {
			if err := flush(); err != nil {
				return ImportResult{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// hasField reports whether vs already has a violation of field: a value that could not be
// read is reported once, not again as missing.
func hasField(vs []Violation, field string) bool {
	for _, v := range vs {
		if v.Field == field {
			return true
		}
	}
	return false
}
