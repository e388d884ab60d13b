package web

// manageRoutes registers the project management pages and the management
// API.
func (s *Server) manageRoutes(mux *routeMux) {
	const proj = "/manage/project/{project}"
	mux.Handle("GET /manage/projects/{$}", s.ui(s.manageProjects))
	mux.Handle("POST "+proj+"/invitation/accept", s.ui(s.manageAction(s.acceptInvitation)))
	mux.Handle("POST "+proj+"/invitation/decline", s.ui(s.manageAction(s.declineInvitation)))

	mux.Handle("GET "+proj+"/{$}", s.ui(s.manageProject))
	mux.Handle("POST "+proj+"/delete", s.ui(s.manageAction(s.deleteProject)))
	mux.Handle("POST "+proj+"/settings/two-factor", s.ui(s.manageAction(s.setRequire2FA)))
	mux.Handle("GET "+proj+"/release/{version}/{$}", s.ui(s.manageRelease))
	mux.Handle("POST "+proj+"/release/{version}/yank", s.ui(s.manageAction(s.yankRelease)))
	mux.Handle("POST "+proj+"/release/{version}/unyank", s.ui(s.manageAction(s.unyankRelease)))
	mux.Handle("POST "+proj+"/release/{version}/delete", s.ui(s.manageAction(s.deleteRelease)))
	mux.Handle("POST "+proj+"/release/{version}/file/delete", s.ui(s.manageAction(s.deleteFile)))

	mux.Handle("GET "+proj+"/collaboration/{$}", s.ui(s.manageCollaboration))
	mux.Handle("POST "+proj+"/collaboration/invite", s.ui(s.manageAction(s.inviteCollaborator)))
	mux.Handle("POST "+proj+"/collaboration/revoke", s.ui(s.manageAction(s.revokeInvitation)))
	mux.Handle("POST "+proj+"/collaboration/role", s.ui(s.manageAction(s.changeRole)))
	mux.Handle("POST "+proj+"/collaboration/remove", s.ui(s.manageAction(s.removeCollaborator)))
	mux.Handle("POST "+proj+"/collaboration/leave", s.ui(s.manageAction(s.leaveProject)))
	mux.Handle("GET "+proj+"/history/{$}", s.ui(s.manageHistory))

	mux.Handle("GET /manage/account/tokens/{$}", s.ui(s.manageTokens))
	mux.Handle("POST /manage/account/tokens/{$}", s.ui(s.createToken))
	mux.Handle("POST /manage/account/tokens/{id}/revoke", s.ui(s.manageAction(s.revokeToken)))

	mux.Handle("GET /api/projects/{project}/{$}", s.api(s.apiProject))
	mux.Handle("POST /api/projects/{project}/releases/{version}/yank", s.api(s.apiYank))
	mux.Handle("POST /api/projects/{project}/releases/{version}/unyank", s.api(s.apiUnyank))
	mux.Handle("GET /api/projects/{project}/roles", s.api(s.apiRoles))
	mux.Handle("POST /api/projects/{project}/roles", s.api(s.apiInvite))
	mux.Handle("DELETE /api/projects/{project}/roles/{username}", s.api(s.apiRemoveRole))
	mux.Handle("GET /api/tokens", s.api(s.apiTokens))
	mux.Handle("POST /api/tokens", s.api(s.apiCreateToken))
	mux.Handle("DELETE /api/tokens/{id}", s.api(s.apiRevokeToken))
}
