package eligibility

import (
	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/authn"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
)

// Policies declares who may call each RPC of the eligibility service. Checks store
// nothing and are open to every caller; a learner's assessments are for careers advisers;
// erasure, subject access export, the audit trail and publishing rules are for admins.
func Policies() auth.Policies {
	var (
		everyone = []authn.Role{authn.RoleFrontend, authn.RoleAdviser, authn.RoleLEP, authn.RoleEvaluator, authn.RoleAdmin}
		advisers = []authn.Role{authn.RoleAdviser, authn.RoleAdmin}
		admins   = []authn.Role{authn.RoleAdmin}
	)
	return auth.Policies{
		eligibilityv1.EligibilityService_CheckEligibility_FullMethodName: {Roles: everyone},
		eligibilityv1.EligibilityService_ListRulesets_FullMethodName:     {Roles: everyone},
		eligibilityv1.EligibilityService_GetRuleset_FullMethodName:       {Roles: everyone},
		eligibilityv1.EligibilityService_CreateRuleset_FullMethodName:    {Roles: admins},

		// LEP systems screen their cohorts; the rows carry no area resource to bind.
		eligibilityv1.EligibilityService_ScreenCohort_FullMethodName: {Roles: []authn.Role{authn.RoleLEP, authn.RoleAdmin}},

		eligibilityv1.EligibilityService_CreateAssessment_FullMethodName: {Roles: advisers},
		eligibilityv1.EligibilityService_GetAssessment_FullMethodName:    {Roles: advisers},
		eligibilityv1.EligibilityService_ListAssessments_FullMethodName:  {Roles: advisers},
		eligibilityv1.EligibilityService_ReplayAssessment_FullMethodName: {Roles: advisers},

		eligibilityv1.EligibilityService_ExportLearner_FullMethodName:    {Roles: admins},
		eligibilityv1.EligibilityService_DeleteLearner_FullMethodName:    {Roles: admins},
		eligibilityv1.EligibilityService_ListAuditRecords_FullMethodName: {Roles: admins},
	}
}
