// Package boltstore is the bbolt implementation of catalog.Store: one file, buckets and
// schema version declared here, records as JSON, keys as area + 0x00 + id.
package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nrs-pilots/retrain/platform/boltdb"
	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout of courses.db this package reads and writes.
const SchemaVersion = 1

// Buckets of the file.
var (
	bucketProviders = []byte("providers")
	bucketCourses   = []byte("courses")
	// bucketProviderCourses indexes courses by provider: area 0 ukprn 0 id -> empty.
	bucketProviderCourses = []byte("provider_courses")
)

// Options are bbolt options for Open.
type Options struct {
	// NoSync turns off fsync: tests and benchmarks only.
	NoSync bool
}

// Store is a catalog.Store in a bbolt file.
type Store struct{ db *bolt.DB }

var _ catalog.Store = (*Store)(nil)

// Open opens (creating if needed) the store at path.
func Open(path string, opts Options) (*Store, error) {
	db, err := boltdb.Open(path, boltdb.Options{
		Buckets:       [][]byte{bucketProviders, bucketCourses, bucketProviderCourses},
		SchemaVersion: SchemaVersion,
		NoSync:        opts.NoSync,
	})
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func key(parts ...string) []byte {
	var b []byte
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// providerRecord is the stored form of a provider.
type providerRecord struct {
	Area         string    `json:"area"`
	UKPRN        string    `json:"ukprn"`
	Name         string    `json:"name"`
	LoanFacility bool      `json:"loan_facility"`
	Premises     []string  `json:"premises,omitempty"`
	Demo         bool      `json:"demo,omitempty"`
	CreateTime   time.Time `json:"create_time"`
	UpdateTime   time.Time `json:"update_time"`
	UpdatedBy    string    `json:"updated_by"`
}

// courseRecord is the stored form of a course. Enums are stored by their CSV words so the
// file reads the same whatever their numbers become.
type courseRecord struct {
	Area          string     `json:"area"`
	ID            string     `json:"id"`
	LearningAim   string     `json:"learning_aim"`
	Title         string     `json:"title"`
	Description   string     `json:"description,omitempty"`
	Level         string     `json:"level"`
	Sector        string     `json:"sector,omitempty"`
	AwardingBody  string     `json:"awarding_body,omitempty"`
	ProviderUKPRN string     `json:"provider_ukprn"`
	VenuePostcode string     `json:"venue_postcode,omitempty"`
	Delivery      string     `json:"delivery"`
	Study         string     `json:"study"`
	Attendance    string     `json:"attendance,omitempty"`
	DurationValue int32      `json:"duration_value"`
	DurationUnit  string     `json:"duration_unit"`
	StartDate     civil.Date `json:"start_date"`
	FlexibleStart bool       `json:"flexible_start,omitempty"`
	FullCost      int64      `json:"full_cost_pence"`
	Modular       bool       `json:"modular,omitempty"`
	Discount      int32      `json:"discount_percent"`
	LearnerCost   int64      `json:"learner_cost_pence"`
	Demo          bool       `json:"demo,omitempty"`
	CreateTime    time.Time  `json:"create_time"`
	UpdateTime    time.Time  `json:"update_time"`
	UpdatedBy     string     `json:"updated_by"`
}

func toProviderRecord(p catalog.Provider) providerRecord {
	return providerRecord{p.Area, p.UKPRN, p.Name, p.LoanFacility, p.Premises, p.Demo, p.CreateTime, p.UpdateTime, p.UpdatedBy}
}

func (r providerRecord) provider() catalog.Provider {
	return catalog.Provider{Area: r.Area, UKPRN: r.UKPRN, Name: r.Name, LoanFacility: r.LoanFacility, Premises: r.Premises, Demo: r.Demo, CreateTime: r.CreateTime, UpdateTime: r.UpdateTime, UpdatedBy: r.UpdatedBy}
}

func toCourseRecord(c catalog.Course) courseRecord {
	return courseRecord{
		Area: c.Area, ID: c.ID, LearningAim: c.LearningAim, Title: c.Title, Description: c.Description,
		Level: c.Level.String(), Sector: c.Sector, AwardingBody: c.AwardingBody, ProviderUKPRN: c.ProviderUKPRN,
		VenuePostcode: c.VenuePostcode, Delivery: c.Delivery.String(), Study: c.Study.String(),
		Attendance: c.Attendance.String(), DurationValue: c.DurationValue, DurationUnit: c.DurationUnit.String(),
		StartDate: c.StartDate, FlexibleStart: c.FlexibleStart, FullCost: c.FullCostPence, Modular: c.Modular,
		Discount: c.DiscountPercent, LearnerCost: c.LearnerCostPence, Demo: c.Demo,
		CreateTime: c.CreateTime, UpdateTime: c.UpdateTime, UpdatedBy: c.UpdatedBy,
	}
}

func (r courseRecord) course() (catalog.Course, error) {
	c := catalog.Course{
		Area: r.Area, ID: r.ID, LearningAim: r.LearningAim, Title: r.Title, Description: r.Description,
		Sector: r.Sector, AwardingBody: r.AwardingBody, ProviderUKPRN: r.ProviderUKPRN, VenuePostcode: r.VenuePostcode,
		DurationValue: r.DurationValue, StartDate: r.StartDate, FlexibleStart: r.FlexibleStart, FullCostPence: r.FullCost,
		Modular: r.Modular, DiscountPercent: r.Discount, LearnerCostPence: r.LearnerCost, Demo: r.Demo,
		CreateTime: r.CreateTime, UpdateTime: r.UpdateTime, UpdatedBy: r.UpdatedBy,
	}
	var err error
	var ok bool
	if c.Level, ok = catalog.ParseLevel(r.Level); !ok {
		return c, fmt.Errorf("course %s: stored level is unreadable", r.ID)
	}
	if c.Delivery, err = catalog.ParseDeliveryMode(r.Delivery); err != nil {
		return c, fmt.Errorf("course %s: %w", r.ID, err)
	}
	if c.Study, err = catalog.ParseStudyMode(r.Study); err != nil {
		return c, fmt.Errorf("course %s: %w", r.ID, err)
	}
	if r.Attendance != "" {
		if c.Attendance, err = catalog.ParseAttendancePattern(r.Attendance); err != nil {
			return c, fmt.Errorf("course %s: %w", r.ID, err)
		}
	}
	if c.DurationUnit, err = catalog.ParseDurationUnit(r.DurationUnit); err != nil {
		return c, fmt.Errorf("course %s: %w", r.ID, err)
	}
	return c, nil
}

func decodeCourse(v []byte) (catalog.Course, error) {
	var r courseRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return catalog.Course{}, fmt.Errorf("decode course: %w", err)
	}
	return r.course()
}

func decodeProvider(v []byte) (catalog.Provider, error) {
	var r providerRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return catalog.Provider{}, fmt.Errorf("decode provider: %w", err)
	}
	return r.provider(), nil
}

// GetProvider implements catalog.Store.
func (s *Store) GetProvider(ctx context.Context, area, ukprn string) (catalog.Provider, error) {
	var p catalog.Provider
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketProviders).Get(key(area, ukprn))
		if v == nil {
			return catalog.ErrNotFound
		}
		var err error
		p, err = decodeProvider(v) // json.Unmarshal copies out of the mmap
		return err
	})
	return p, err
}

// list calls fn for up to limit values of bucket under area after the id after.
func list(tx *bolt.Tx, bucket []byte, area, after string, limit int, fn func(v []byte) error) error {
	prefix := key(area, "")
	cur := tx.Bucket(bucket).Cursor()
	var k, v []byte
	if after == "" {
		k, v = cur.Seek(prefix)
	} else {
		start := key(area, after)
		k, v = cur.Seek(start)
		if bytes.Equal(k, start) {
			k, v = cur.Next()
		}
	}
	for n := 0; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || n < limit); k, v = cur.Next() {
		if err := fn(v); err != nil {
			return err
		}
		n++
	}
	return nil
}

// ListProviders implements catalog.Store.
func (s *Store) ListProviders(ctx context.Context, area, after string, limit int) ([]catalog.Provider, error) {
	var out []catalog.Provider
	err := s.db.View(func(tx *bolt.Tx) error {
		return list(tx, bucketProviders, area, after, limit, func(v []byte) error {
			p, err := decodeProvider(v)
			out = append(out, p)
			return err
		})
	})
	return out, err
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// CreateProvider implements catalog.Store.
func (s *Store) CreateProvider(ctx context.Context, p catalog.Provider) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProviders)
		k := key(p.Area, p.UKPRN)
		if b.Get(k) != nil {
			return catalog.ErrAlreadyExists
		}
		return putJSON(b, k, toProviderRecord(p))
	})
}

// UpdateProvider implements catalog.Store.
func (s *Store) UpdateProvider(ctx context.Context, p catalog.Provider) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProviders)
		k := key(p.Area, p.UKPRN)
		if b.Get(k) == nil {
			return catalog.ErrNotFound
		}
		return putJSON(b, k, toProviderRecord(p))
	})
}

// DeleteProvider implements catalog.Store.
func (s *Store) DeleteProvider(ctx context.Context, area, ukprn string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProviders)
		k := key(area, ukprn)
		if b.Get(k) == nil {
			return catalog.ErrNotFound
		}
		prefix := key(area, ukprn, "")
		if k, _ := tx.Bucket(bucketProviderCourses).Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
			return catalog.ErrProviderHasCourses
		}
		return b.Delete(k)
	})
}

// GetCourse implements catalog.Store.
func (s *Store) GetCourse(ctx context.Context, area, id string) (catalog.Course, error) {
	var c catalog.Course
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCourses).Get(key(area, id))
		if v == nil {
			return catalog.ErrNotFound
		}
		var err error
		c, err = decodeCourse(v)
		return err
	})
	return c, err
}

// ListCourses implements catalog.Store.
func (s *Store) ListCourses(ctx context.Context, area, after string, limit int) ([]catalog.Course, error) {
	var out []catalog.Course
	err := s.db.View(func(tx *bolt.Tx) error {
		return list(tx, bucketCourses, area, after, limit, func(v []byte) error {
			c, err := decodeCourse(v)
			out = append(out, c)
			return err
		})
	})
	return out, err
}

// putCourse writes c and keeps the provider index in step. The provider must exist.
func putCourse(tx *bolt.Tx, c catalog.Course) error {
	if tx.Bucket(bucketProviders).Get(key(c.Area, c.ProviderUKPRN)) == nil {
		return fmt.Errorf("provider %s: %w", c.ProviderUKPRN, catalog.ErrNoProvider)
	}
	b := tx.Bucket(bucketCourses)
	pc := tx.Bucket(bucketProviderCourses)
	k := key(c.Area, c.ID)
	if old := b.Get(k); old != nil {
		var r courseRecord
		if err := json.Unmarshal(old, &r); err != nil {
			return fmt.Errorf("decode course: %w", err)
		}
		if err := pc.Delete(key(r.Area, r.ProviderUKPRN, r.ID)); err != nil {
			return err
		}
	}
	if err := pc.Put(key(c.Area, c.ProviderUKPRN, c.ID), nil); err != nil {
		return err
	}
	return putJSON(b, k, toCourseRecord(c))
}

// CreateCourse implements catalog.Store.
func (s *Store) CreateCourse(ctx context.Context, c catalog.Course) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketCourses).Get(key(c.Area, c.ID)) != nil {
			return catalog.ErrAlreadyExists
		}
		return putCourse(tx, c)
	})
}

// PutCourses implements catalog.Store.
func (s *Store) PutCourses(ctx context.Context, cs []catalog.Course) error {
	if len(cs) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, c := range cs {
			if err := putCourse(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteCourse implements catalog.Store.
func (s *Store) DeleteCourse(ctx context.Context, area, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return deleteCourse(tx, area, id) })
}

// deleteCourse deletes a course and its provider index entry: ErrNotFound if absent.
func deleteCourse(tx *bolt.Tx, area, id string) error {
	b := tx.Bucket(bucketCourses)
	k := key(area, id)
	old := b.Get(k)
	if old == nil {
		return catalog.ErrNotFound
	}
	var r courseRecord
	if err := json.Unmarshal(old, &r); err != nil {
		return fmt.Errorf("decode course: %w", err)
	}
	if err := tx.Bucket(bucketProviderCourses).Delete(key(area, r.ProviderUKPRN, id)); err != nil {
		return err
	}
	return b.Delete(k)
}

// WriteCourses implements catalog.Store: one bbolt transaction, so one fsync, for the
// whole batch.
func (s *Store) WriteCourses(ctx context.Context, ws []catalog.CourseWrite) error {
	if len(ws) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for i, w := range ws {
			var err error
			switch w.Kind {
			case catalog.CourseCreate:
				if tx.Bucket(bucketCourses).Get(key(w.Course.Area, w.Course.ID)) != nil {
					return &catalog.WriteError{Index: i, Err: catalog.ErrAlreadyExists}
				}
				err = putCourse(tx, w.Course)
			case catalog.CoursePut:
				err = putCourse(tx, w.Course)
			case catalog.CourseDelete:
				err = deleteCourse(tx, w.Course.Area, w.Course.ID)
			default:
				return fmt.Errorf("write %d: unknown kind %d", i, w.Kind)
			}
			if errors.Is(err, catalog.ErrNoProvider) || errors.Is(err, catalog.ErrNotFound) {
				return &catalog.WriteError{Index: i, Err: err}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// ProviderCourses implements catalog.Store.
func (s *Store) ProviderCourses(ctx context.Context, area, ukprn string) ([]string, error) {
	var ids []string
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := key(area, ukprn, "")
		cur := tx.Bucket(bucketProviderCourses).Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			ids = append(ids, string(k[len(prefix):]))
		}
		return nil
	})
	return ids, err
}

// ScanCourses implements catalog.Store.
func (s *Store) ScanCourses(ctx context.Context, fn func(catalog.Course) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCourses).ForEach(func(_, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, err := decodeCourse(v)
			if err != nil {
				return err
			}
			return fn(c)
		})
	})
}

// Empty implements catalog.Store.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	empty := true
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketProviders, bucketCourses} {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				empty = false
			}
		}
		return nil
	})
	return empty, err
}
