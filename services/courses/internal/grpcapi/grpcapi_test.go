package grpcapi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		name, collection, area, id string
		ok                         bool
	}{
		{"areas/E37000060", "", "E37000060", "", true},
		{"areas/E37000060/courses/care-1", "courses", "E37000060", "care-1", true},
		{"areas/E37000060/providers/10000001", "providers", "E37000060", "10000001", true},
		{"areas/E37000060/providers/10000001", "courses", "", "", false},
		{"areas/", "", "", "", false},
		{"areas/E37000060/courses/", "courses", "", "", false},
		{"regions/E37000060", "", "", "", false},
		{"areas/E37000060/courses/a/b", "courses", "", "", false},
	}
	for _, tt := range tests {
		area, id, ok := parseName(tt.name, tt.collection)
		if area != tt.area || id != tt.id || ok != tt.ok {
			t.Errorf("parseName(%q, %q) = %q, %q, %v, want %q, %q, %v", tt.name, tt.collection, area, id, ok, tt.area, tt.id, tt.ok)
		}
	}
}

func TestPageTokens(t *testing.T) {
	limit, after, vs := page("areas/E37000060", 0, nextToken("areas/E37000060", "care-1"))
	if limit != defaultPage || after != "care-1" || len(vs) != 0 {
		t.Errorf("page(own token) = %d, %q, %v", limit, after, vs)
	}
	if _, _, vs := page("areas/E37000062", 5, nextToken("areas/E37000060", "care-1")); len(vs) != 1 || vs[0].Field != "page_token" {
		t.Errorf("page(another list's token) = %v, want a page_token violation", vs)
	}
	if _, _, vs := page("areas/E37000060", -1, "%%%"); len(vs) != 2 {
		t.Errorf("page(-1, garbage) = %v, want two violations", vs)
	}
	if limit, _, _ := page("areas/E37000060", 5000, ""); limit != maxPage {
		t.Errorf("page(5000) limit = %d, want %d", limit, maxPage)
	}
}

func TestEnumOutOfRange(t *testing.T) {
	for _, n := range []int32{-1, 255, 256, 1 << 20} {
		if m := enum[catalog.DeliveryMode](n); m.Valid() {
			t.Errorf("enum(%d) = %v, a valid delivery mode", n, m)
		}
	}
	if m := enum[catalog.DeliveryMode](2); m != catalog.DeliveryOnline {
		t.Errorf("enum(2) = %v, want online", m)
	}
}

func TestErrorTable(t *testing.T) {
	s := New(Deps{Log: zap.NewNop()})
	tests := []struct {
		err  error
		want codes.Code
	}{
		{fmt.Errorf("course x: %w", catalog.ErrNotFound), codes.NotFound},
		{fmt.Errorf("course x: %w", catalog.ErrAlreadyExists), codes.AlreadyExists},
		{catalog.ErrProviderHasCourses, codes.FailedPrecondition},
		{fmt.Errorf("import: %w", catalog.ErrNoProvider), codes.FailedPrecondition},
		{fmt.Errorf("%w: 2 of 3", catalog.ErrProviderBreaksCourses), codes.FailedPrecondition},
		{catalog.ErrUnknownPostcode, codes.NotFound},
		{catalog.ErrTooLarge, codes.ResourceExhausted},
		{&catalog.ValidationError{Violations: []catalog.Violation{{Field: "level", Description: "bad"}}}, codes.InvalidArgument},
		{errors.New("disk on fire"), codes.Internal},
	}
	for _, tt := range tests {
		if got := status.Code(s.status(tt.err, "course.")); got != tt.want {
			t.Errorf("status(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	st := status.Convert(s.status(errors.New("disk on fire"), ""))
	if st.Message() != "internal error" {
		t.Errorf("internal error message = %q, want it hidden", st.Message())
	}
}
