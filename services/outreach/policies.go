package outreach

import (
	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/authn"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
)

// Policies declares who may call each RPC of the outreach service. A LEP or Combined
// Authority runs campaigns and reads reports for its own area only; evaluators read every
// area; the front end and the eligibility service record events but read nothing.
func Policies() auth.Policies {
	var (
		areaStaff = []authn.Role{authn.RoleLEP, authn.RoleAdmin}
		readers   = []authn.Role{authn.RoleLEP, authn.RoleEvaluator, authn.RoleAdmin}
	)
	return auth.Policies{
		outreachv1.OutreachService_CreateCampaign_FullMethodName: {Roles: areaStaff, AreaBound: true},
		outreachv1.OutreachService_UpdateCampaign_FullMethodName: {Roles: areaStaff, AreaBound: true},
		outreachv1.OutreachService_GetCampaign_FullMethodName:    {Roles: readers, AreaBound: true},
		outreachv1.OutreachService_ListCampaigns_FullMethodName:  {Roles: readers, AreaBound: true},

		outreachv1.OutreachService_RecordEvents_FullMethodName: {Roles: []authn.Role{authn.RoleFrontend, authn.RoleLEP, authn.RoleService, authn.RoleAdmin}, AreaBound: true},
		outreachv1.OutreachService_StreamEvents_FullMethodName: {Roles: areaStaff, AreaBound: true},

		outreachv1.OutreachService_RunAttributionReport_FullMethodName:    {Roles: readers, AreaBound: true},
		outreachv1.OutreachService_ExportAttributionReport_FullMethodName: {Roles: readers, AreaBound: true},
	}
}
