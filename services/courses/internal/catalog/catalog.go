package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nrs-pilots/retrain/platform/postcode"
)

// Catalog is the courses service's domain: it checks every write against the area's pilot
// rules, computes learner costs, writes through the Store and keeps the search index in step
// with it. It is safe for concurrent use. Writes are serialised so that the index applies
// them in the order the store did; reads and searches run in parallel. Concurrent course
// writes share a store transaction (group commit), so they share its fsync.
type Catalog struct {
	store Store
	dir   *postcode.Directory
	now   func() time.Time
	areas map[string]*Area
	order []string // area codes, sorted

	wmu sync.Mutex // serialises writes (store then index)
	// provGen counts provider writes (made with wmu held), so that a course checked against
	// a provider outside wmu is checked again if the provider may have changed since.
	provGen atomic.Uint64

	// Course writes queue for group commit (commit.go); qmu guards queue and committing,
	// which is true while a writer leads a commit.
	qmu        sync.Mutex
	queue      []*courseOp
	committing bool
	// idx maps area code to its index; Reindex swaps the whole map.
	idx atomic.Pointer[map[string]*areaIndex]

	// feed is the store's change feed, nil for a store no other process writes.
	feed ChangeFeed
	// pos is the feed position the index reflects; guarded by wmu.
	pos int64
}

// New returns a Catalog over store for the given areas and builds its index from the store.
func New(ctx context.Context, store Store, dir *postcode.Directory, areas []Area, now func() time.Time) (*Catalog, error) {
	if store == nil || dir == nil || now == nil || len(areas) == 0 {
		return nil, errors.New("catalog: store, directory, clock and areas are required")
	}
	c := &Catalog{store: store, dir: dir, now: now, areas: map[string]*Area{}}
	c.feed, _ = store.(ChangeFeed)
	for i := range areas {
		a := areas[i]
		c.areas[a.Code] = &a
		c.order = append(c.order, a.Code)
	}
	slices.Sort(c.order)
	if err := c.Reindex(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Reindex rebuilds the search index from the store, for start-up and after the store was
// changed by another process.
func (c *Catalog) Reindex(ctx context.Context) error {
	// Writes wait while the store is read, so none falls between the scan and the swap.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// Other processes may write during the scan: the feed is followed from a position
	// taken before it, and replaying a change the scan already saw is harmless.
	var pos int64
	if c.feed != nil {
		var err error
		if pos, err = c.feed.LatestChange(ctx); err != nil {
			return fmt.Errorf("catalog: build index: %w", err)
		}
	}
	fresh := map[string]*areaIndex{}
	for code, a := range c.areas {
		fresh[code] = newAreaIndex(a)
	}
	err := c.store.ScanCourses(ctx, func(co Course) error {
		ix, ok := fresh[co.Area]
		if !ok {
			return nil // an area no longer configured: kept in the store, not searchable
		}
		ix.put(co, c.dir)
		return nil
	})
	if err != nil {
		return fmt.Errorf("catalog: build index: %w", err)
	}
	for code, ix := range fresh {
		for after := ""; ; {
			ps, err := c.store.ListProviders(ctx, code, after, 1000)
			if err != nil {
				return fmt.Errorf("catalog: build index: %w", err)
			}
			for _, p := range ps {
				ix.provNames[p.UKPRN] = p.Name
			}
			if len(ps) < 1000 {
				break
			}
			after = ps[len(ps)-1].UKPRN
		}
	}
	for _, ix := range fresh {
		ix.compact()
	}
	c.idx.Store(&fresh)
	c.pos = pos
	return nil
}

// stamp returns the time to record for a write: UTC, to the microsecond, which every
// store keeps exactly.
func (c *Catalog) stamp() time.Time { return c.now().UTC().Truncate(time.Microsecond) }

// storeCourseErr turns a Store's ErrNoProvider (another writer deleted the provider after
// it was checked) into the violation the check itself would have reported.
func storeCourseErr(co Course, err error) error {
	if errors.Is(err, ErrNoProvider) {
		var vs violations
		vs.rule(RuleProviderKnown, "provider_ukprn", "is not a provider in this area: create the provider first")
		return invalid(vs)
	}
	return fmt.Errorf("course %s: %w", co.ID, err)
}

// index returns the search index of an area known to exist.
func (c *Catalog) index(area string) *areaIndex { return (*c.idx.Load())[area] }

// Areas returns the areas in code order.
func (c *Catalog) Areas() []Area {
	out := make([]Area, 0, len(c.order))
	for _, code := range c.order {
		out = append(out, *c.areas[code])
	}
	return out
}

// Area returns the area with the ONS code, or ErrNotFound.
func (c *Catalog) Area(code string) (Area, error) {
	a, ok := c.areas[code]
	if !ok {
		return Area{}, fmt.Errorf("area %s: %w", code, ErrNotFound)
	}
	return *a, nil
}

func (c *Catalog) area(code string) (*Area, error) {
	a, ok := c.areas[code]
	if !ok {
		return nil, fmt.Errorf("area %s: %w", code, ErrNotFound)
	}
	return a, nil
}

// GetProvider returns a provider. Errors: ErrNotFound.
func (c *Catalog) GetProvider(ctx context.Context, area, ukprn string) (Provider, error) {
	if _, err := c.area(area); err != nil {
		return Provider{}, err
	}
	p, err := c.store.GetProvider(ctx, area, ukprn)
	if err != nil {
		return Provider{}, fmt.Errorf("provider %s: %w", ukprn, err)
	}
	return p, nil
}

// ListProviders returns up to limit providers of area after the UKPRN after.
// Errors: ErrNotFound for an unknown area.
func (c *Catalog) ListProviders(ctx context.Context, area, after string, limit int) ([]Provider, error) {
	if _, err := c.area(area); err != nil {
		return nil, err
	}
	return c.store.ListProviders(ctx, area, after, limit)
}

// CreateProvider validates and stores a new provider, written by actor.
// Errors: *ValidationError, ErrNotFound (area), ErrAlreadyExists.
func (c *Catalog) CreateProvider(ctx context.Context, actor string, p Provider) (Provider, error) {
	if _, err := c.area(p.Area); err != nil {
		return Provider{}, err
	}
	p.Premises = slices.Clone(p.Premises)
	if err := invalid(checkProvider(&p)); err != nil {
		return Provider{}, err
	}
	now := c.stamp()
	p.CreateTime, p.UpdateTime, p.UpdatedBy = now, now, actor
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.store.CreateProvider(ctx, p); err != nil {
		return Provider{}, fmt.Errorf("provider %s: %w", p.UKPRN, err)
	}
	c.provGen.Add(1)
	c.index(p.Area).setProviderName(p.UKPRN, p.Name)
	return p, nil
}

// ProviderFields are the fields of a provider an update may name.
var ProviderFields = []string{"display_name", "loan_facility", "premises_postcodes"}

// UpdateProvider changes the named fields of a provider (all of ProviderFields when paths
// is empty). A change that would make any of its courses break the area's pilot rules is
// refused. Errors: *ValidationError, ErrNotFound, ErrProviderBreaksCourses.
func (c *Catalog) UpdateProvider(ctx context.Context, actor string, p Provider, paths []string) (Provider, error) {
	a, err := c.area(p.Area)
	if err != nil {
		return Provider{}, err
	}
	if len(paths) == 0 {
		paths = ProviderFields
	}
	var vs violations
	for _, path := range paths {
		if !slices.Contains(ProviderFields, path) {
			vs.add("update_mask", fmt.Sprintf("names %q, which is not one of %v", path, ProviderFields))
		}
	}
	if err := invalid(vs); err != nil {
		return Provider{}, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	old, err := c.store.GetProvider(ctx, p.Area, p.UKPRN)
	if err != nil {
		return Provider{}, fmt.Errorf("provider %s: %w", p.UKPRN, err)
	}
	next := old
	for _, path := range paths {
		switch path {
		case "display_name":
			next.Name = p.Name
		case "loan_facility":
			next.LoanFacility = p.LoanFacility
		case "premises_postcodes":
			next.Premises = slices.Clone(p.Premises)
		}
	}
	if err := invalid(checkProvider(&next)); err != nil {
		return Provider{}, err
	}
	ids, err := c.store.ProviderCourses(ctx, p.Area, p.UKPRN)
	if err != nil {
		return Provider{}, err
	}
	broken := 0
	for _, id := range ids {
		co, err := c.store.GetCourse(ctx, p.Area, id)
		if err != nil {
			return Provider{}, err
		}
		if len(checkRules(a, &next, &co, c.dir)) > 0 {
			broken++
		}
	}
	if broken > 0 {
		return Provider{}, fmt.Errorf("%w: %d of its %d courses would no longer meet them", ErrProviderBreaksCourses, broken, len(ids))
	}
	next.UpdateTime, next.UpdatedBy = c.stamp(), actor
	if err := c.store.UpdateProvider(ctx, next); err != nil {
		return Provider{}, fmt.Errorf("provider %s: %w", p.UKPRN, err)
	}
	c.provGen.Add(1)
	// Courses show the provider's name: refresh them in the index.
	if next.Name != old.Name {
		c.index(p.Area).setProviderName(p.UKPRN, next.Name)
	}
	return next, nil
}

// DeleteProvider removes a provider that has no courses.
// Errors: ErrNotFound, ErrProviderHasCourses.
func (c *Catalog) DeleteProvider(ctx context.Context, area, ukprn string) error {
	if _, err := c.area(area); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.store.DeleteProvider(ctx, area, ukprn); err != nil {
		return fmt.Errorf("provider %s: %w", ukprn, err)
	}
	c.provGen.Add(1)
	c.index(area).deleteProviderName(ukprn)
	return nil
}

// GetCourse returns a course, with its provider's name. Errors: ErrNotFound.
func (c *Catalog) GetCourse(ctx context.Context, area, id string) (Course, string, error) {
	if _, err := c.area(area); err != nil {
		return Course{}, "", err
	}
	co, err := c.store.GetCourse(ctx, area, id)
	if err != nil {
		return Course{}, "", fmt.Errorf("course %s: %w", id, err)
	}
	return co, c.index(area).providerName(co.ProviderUKPRN), nil
}

// ListCourses returns up to limit courses of area after the id after.
func (c *Catalog) ListCourses(ctx context.Context, area, after string, limit int) ([]Course, error) {
	if _, err := c.area(area); err != nil {
		return nil, err
	}
	return c.store.ListCourses(ctx, area, after, limit)
}

// ProviderName returns the display name of a provider of area as the index knows it.
func (c *Catalog) ProviderName(area, ukprn string) string {
	ix, ok := (*c.idx.Load())[area]
	if !ok {
		return ""
	}
	return ix.providerName(ukprn)
}

// DeriveCourseID returns a course id made from the course's own key (provider, learning
// aim, venue, start and study mode), so that creating the same course twice without an id
// is refused as a duplicate instead of stored twice.
func DeriveCourseID(co Course) string {
	normaliseCourse(&co)
	start := "flexible"
	if !co.FlexibleStart {
		start = co.StartDate.String()
	}
	h := sha256.Sum256([]byte(co.ProviderUKPRN + "\x00" + co.LearningAim + "\x00" + co.VenuePostcode + "\x00" + start + "\x00" + co.Study.String()))
	return "c-" + hex.EncodeToString(h[:8])
}

// prepare normalises, validates and prices co against its area's rules. It needs the
// provider (nil if there is none).
func (c *Catalog) prepare(a *Area, p *Provider, co *Course) violations {
	normaliseCourse(co)
	vs := checkCourseShape(co, c.dir)
	vs = append(vs, checkRules(a, p, co, c.dir)...)
	if len(vs) == 0 {
		co.LearnerCostPence = LearnerCost(co.FullCostPence, co.DiscountPercent)
	}
	return vs
}

func (c *Catalog) providerOf(ctx context.Context, area, ukprn string) (*Provider, error) {
	if !ValidUKPRN(ukprn) {
		return nil, nil
	}
	p, err := c.store.GetProvider(ctx, area, ukprn)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &p, nil
}

// CreateCourse publishes a course after checking the area's pilot rules; the learner cost
// is computed here. An empty ID is derived with DeriveCourseID.
// Errors: *ValidationError (a violation per rule broken), ErrNotFound (area), ErrAlreadyExists.
func (c *Catalog) CreateCourse(ctx context.Context, actor string, co Course) (Course, error) {
	a, err := c.area(co.Area)
	if err != nil {
		return Course{}, err
	}
	if co.ID == "" {
		co.ID = DeriveCourseID(co)
	}
	// Checked outside wmu, in parallel with other writers; the commit checks again if a
	// provider was written meanwhile.
	gen := c.provGen.Load()
	p, err := c.providerOf(ctx, co.Area, co.ProviderUKPRN)
	if err != nil {
		return Course{}, err
	}
	if err := invalid(c.prepare(a, p, &co)); err != nil {
		return Course{}, err
	}
	now := c.stamp()
	co.CreateTime, co.UpdateTime, co.UpdatedBy = now, now, actor
	op := &courseOp{kind: CourseCreate, actor: actor, course: co, prov: p, gen: gen}
	c.submit(ctx, op)
	return op.out, op.err
}

// CourseFields are the fields of a course a client may set, by API name.
var CourseFields = []string{
	"learning_aim_reference", "title", "description", "level", "sector_subject_area",
	"awarding_body", "provider_ukprn", "venue_postcode", "delivery_mode", "study_mode",
	"attendance_pattern", "duration_value", "duration_unit", "start_date", "flexible_start",
	"full_cost_pence", "modular", "discount_percent",
}

// applyCourseFields copies the named fields of src into dst.
func applyCourseFields(dst *Course, src Course, paths []string) {
	for _, path := range paths {
		switch path {
		case "learning_aim_reference":
			dst.LearningAim = src.LearningAim
		case "title":
			dst.Title = src.Title
		case "description":
			dst.Description = src.Description
		case "level":
			dst.Level = src.Level
		case "sector_subject_area":
			dst.Sector = src.Sector
		case "awarding_body":
			dst.AwardingBody = src.AwardingBody
		case "provider_ukprn":
			dst.ProviderUKPRN = src.ProviderUKPRN
		case "venue_postcode":
			dst.VenuePostcode = src.VenuePostcode
		case "delivery_mode":
			dst.Delivery = src.Delivery
		case "study_mode":
			dst.Study = src.Study
		case "attendance_pattern":
			dst.Attendance = src.Attendance
		case "duration_value":
			dst.DurationValue = src.DurationValue
		case "duration_unit":
			dst.DurationUnit = src.DurationUnit
		case "start_date":
			dst.StartDate = src.StartDate
		case "flexible_start":
			dst.FlexibleStart = src.FlexibleStart
		case "full_cost_pence":
			dst.FullCostPence = src.FullCostPence
		case "modular":
			dst.Modular = src.Modular
		case "discount_percent":
			dst.DiscountPercent = src.DiscountPercent
		}
	}
}

// UpdateCourse changes the named fields (every one of CourseFields when paths is empty) and
// checks the result against the pilot rules again.
// Errors: *ValidationError, ErrNotFound.
func (c *Catalog) UpdateCourse(ctx context.Context, actor string, co Course, paths []string) (Course, error) {
	if _, err := c.area(co.Area); err != nil {
		return Course{}, err
	}
	if len(paths) == 0 {
		paths = CourseFields
	}
	var vs violations
	for _, path := range paths {
		if !slices.Contains(CourseFields, path) {
			vs.add("update_mask", fmt.Sprintf("names %q, which is not a field a client may set", path))
		}
	}
	if err := invalid(vs); err != nil {
		return Course{}, err
	}
	// The course is read, changed and checked by the commit, against the writes committed
	// before it, so that concurrent updates of a course do not undo each other.
	op := &courseOp{kind: CoursePut, actor: actor, course: co, paths: paths}
	c.submit(ctx, op)
	return op.out, op.err
}

// DeleteCourse removes a course. Errors: ErrNotFound.
func (c *Catalog) DeleteCourse(ctx context.Context, area, id string) error {
	if _, err := c.area(area); err != nil {
		return err
	}
	op := &courseOp{kind: CourseDelete, course: Course{Area: area, ID: id}}
	c.submit(ctx, op)
	return op.err
}

// Empty reports whether the store holds no provider and no course.
func (c *Catalog) Empty(ctx context.Context) (bool, error) { return c.store.Empty(ctx) }
