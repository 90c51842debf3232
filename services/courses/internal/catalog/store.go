package catalog

import "context"

// Store keeps providers and courses: the source of truth behind the Catalog's index.
// Implementations are safe for concurrent use and pass storetest.Run.
//
// Keys are (area, UKPRN) for providers and (area, id) for courses. Lists are in key order
// within an area, starting after the key given (empty: from the start).
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
	// CreateCourse returns ErrAlreadyExists if the key is taken.
	CreateCourse(ctx context.Context, c Course) error
	// PutCourses creates or replaces every course in one transaction: all or none.
	PutCourses(ctx context.Context, cs []Course) error
	// DeleteCourse returns ErrNotFound if absent.
	DeleteCourse(ctx context.Context, area, id string) error
	// ProviderCourses returns the ids of the courses of area that name ukprn, in order.
	ProviderCourses(ctx context.Context, area, ukprn string) ([]string, error)
	// ScanCourses calls fn for every course of every area, in key order, stopping at the
	// first error fn returns.
	ScanCourses(ctx context.Context, fn func(Course) error) error
	// Empty reports whether the store holds no provider and no course.
	Empty(ctx context.Context) (bool, error)
}
