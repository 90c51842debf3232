package catalog

import (
	"context"
	"fmt"
)

// Store keeps providers and courses: the source of truth behind the Catalog's index.
// Implementations are safe for concurrent use and pass storetest.Run.
//
// Keys are (area, UKPRN) for providers and (area, id) for courses. Lists are in key order
// (byte order) within an area, starting after the key given (empty: from the start).
// Every course names a provider of its area that exists: writing a course whose provider is
// absent is ErrNoProvider, and a provider cannot be deleted while a course names it, so the
// rule holds even when several processes write at once. Times are kept to the microsecond
// at least.
type Store interface {
	// GetProvider returns ErrNotFound if absent.
	GetProvider(ctx context.Context, area, ukprn string) (Provider, error)
	// ListProviders returns up to limit providers of area with a UKPRN after after.
	ListProviders(ctx context.Context, area, after string, limit int) ([]Provider, error)
	// CreateProvider returns ErrAlreadyExists if the key is taken.
	CreateProvider(ctx context.Context, p Provider) error
	// UpdateProvider returns ErrNotFound if absent.
	UpdateProvider(ctx context.Context, p Provider) error
	// DeleteProvider returns ErrNotFound if absent and ErrProviderHasCourses while any
	// course of the area names it.
	DeleteProvider(ctx context.Context, area, ukprn string) error

	// GetCourse returns ErrNotFound if absent.
	GetCourse(ctx context.Context, area, id string) (Course, error)
	// ListCourses returns up to limit courses of area with an id after after.
	ListCourses(ctx context.Context, area, after string, limit int) ([]Course, error)
	// CreateCourse returns ErrAlreadyExists if the key is taken and ErrNoProvider if the
	// course's provider does not exist.
	CreateCourse(ctx context.Context, c Course) error
	// PutCourses creates or replaces every course in one transaction: all or none. A key
	// given twice keeps the later course. It returns ErrNoProvider, writing nothing, if
	// the provider of any course does not exist.
	PutCourses(ctx context.Context, cs []Course) error
	// DeleteCourse returns ErrNotFound if absent.
	DeleteCourse(ctx context.Context, area, id string) error
	// WriteCourses applies the writes in order in one transaction: all or none. Each write
	// is checked as its single method checks it (CourseCreate as CreateCourse, CoursePut as
	// PutCourses, CourseDelete as DeleteCourse), against the state the earlier writes of the
	// list leave. When one is refused, nothing is written and the error is a *WriteError
	// naming the first write refused; other errors (the store failing) are returned as they
	// are.
	WriteCourses(ctx context.Context, ws []CourseWrite) error
	// ProviderCourses returns the ids of the courses of area that name ukprn, in order.
	ProviderCourses(ctx context.Context, area, ukprn string) ([]string, error)
	// ScanCourses calls fn for every course of every area, in key order, stopping at the
	// first error fn returns.
	ScanCourses(ctx context.Context, fn func(Course) error) error
	// Empty reports whether the store holds no provider and no course.
	Empty(ctx context.Context) (bool, error)
}

// CourseWriteKind says what a CourseWrite does.
type CourseWriteKind uint8

// The kinds of course write.
const (
	// CourseCreate creates Course: ErrAlreadyExists if its key is taken.
	CourseCreate CourseWriteKind = iota + 1
	// CoursePut creates or replaces Course.
	CoursePut
	// CourseDelete deletes the course keyed by Course.Area and Course.ID: ErrNotFound if
	// absent.
	CourseDelete
)

// CourseWrite is one write of a Store.WriteCourses batch.
type CourseWrite struct {
	Kind   CourseWriteKind
	Course Course
}

// WriteError is the error of a Store.WriteCourses batch refused for one of its writes.
type WriteError struct {
	// Index is the position of the write refused in the batch.
	Index int
	// Err is the refusal: ErrAlreadyExists, ErrNoProvider or ErrNotFound, perhaps wrapped.
	Err error
}

// Error implements error.
func (e *WriteError) Error() string { return fmt.Sprintf("write %d: %v", e.Index, e.Err) }

// Unwrap returns Err.
func (e *WriteError) Unwrap() error { return e.Err }

// ChangeKind says what a Change is about.
type ChangeKind uint8

// The kinds of change.
const (
	// ChangeCourse is a course created, replaced or deleted.
	ChangeCourse ChangeKind = iota + 1
	// ChangeProvider is a provider created, updated or deleted.
	ChangeProvider
)

// Change is one write recorded by a ChangeFeed: the record as it stood when the change was
// read, not a diff, so applying changes again, or applying a newer state early, is
// harmless.
type Change struct {
	// Seq is the change's position in the feed: positions only grow, and a reader that has
	// seen position n has seen every change at or below it.
	Seq int64
	// Kind says whether Key is a course id or a UKPRN.
	Kind ChangeKind
	// Area and Key name the record.
	Area, Key string
	// Course is the course as it stands (ChangeCourse), nil when it has been deleted.
	Course *Course
	// Provider is the provider as it stands (ChangeProvider), nil when it has been deleted.
	Provider *Provider
}

// ChangeFeed is implemented by stores that several processes share (PostgreSQL): each
// process's Catalog follows the feed so that its index reflects the other processes'
// writes. A store that only one process can open (bbolt) has no feed.
type ChangeFeed interface {
	// LatestChange returns the position of the newest committed change (0 for none). A
	// reader that takes it before reading the whole store and then follows Changes from
	// it misses nothing.
	LatestChange(ctx context.Context) (int64, error)
	// Changes returns up to limit changes after position after, in position order, with
	// no gaps: a change is listed only once every change below it is listed too. A record
	// written many times may appear once, at its latest position.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
}
