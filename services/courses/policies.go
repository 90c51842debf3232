package courses

import (
	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/authn"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
)

// Policies declares who may call each RPC of the courses service. LEP and Combined
// Authority systems write and read only their own area (the area is in every resource
// name); the public service and advisers read and search; evaluators read everything.
func Policies() auth.Policies {
	var (
		readers = []authn.Role{authn.RoleFrontend, authn.RoleAdviser, authn.RoleLEP, authn.RoleEvaluator, authn.RoleAdmin}
		writers = []authn.Role{authn.RoleLEP, authn.RoleAdmin}
	)
	return auth.Policies{
		// The areas and their pilot rules are reference data, readable by every caller.
		coursesv1.CoursesService_GetArea_FullMethodName:   {Roles: readers},
		coursesv1.CoursesService_ListAreas_FullMethodName: {Roles: readers},

		coursesv1.CoursesService_GetProvider_FullMethodName:   {Roles: readers, AreaBound: true},
		coursesv1.CoursesService_ListProviders_FullMethodName: {Roles: readers, AreaBound: true},
		coursesv1.CoursesService_GetCourse_FullMethodName:     {Roles: readers, AreaBound: true},
		coursesv1.CoursesService_ListCourses_FullMethodName:   {Roles: readers, AreaBound: true},

		coursesv1.CoursesService_CreateProvider_FullMethodName: {Roles: writers, AreaBound: true},
		coursesv1.CoursesService_UpdateProvider_FullMethodName: {Roles: writers, AreaBound: true},
		coursesv1.CoursesService_DeleteProvider_FullMethodName: {Roles: writers, AreaBound: true},
		coursesv1.CoursesService_CreateCourse_FullMethodName:   {Roles: writers, AreaBound: true},
		coursesv1.CoursesService_UpdateCourse_FullMethodName:   {Roles: writers, AreaBound: true},
		coursesv1.CoursesService_DeleteCourse_FullMethodName:   {Roles: writers, AreaBound: true},
		coursesv1.CoursesService_ImportCourses_FullMethodName:  {Roles: writers, AreaBound: true},

		coursesv1.CoursesService_ExportCourses_FullMethodName: {Roles: []authn.Role{authn.RoleLEP, authn.RoleEvaluator, authn.RoleAdmin}, AreaBound: true},

		// The public search: the learner's postcode decides the area.
		coursesv1.CoursesService_SearchCourses_FullMethodName: {Roles: []authn.Role{authn.RoleFrontend, authn.RoleAdviser, authn.RoleEvaluator, authn.RoleAdmin}},
	}
}
