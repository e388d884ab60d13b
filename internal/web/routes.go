package web

import (
	"net/http"

	"cheeseshop/internal/readme"
)

// routes is the one place that lists every route: its method and pattern,
// its middleware and its handler, by audience. Read it top to bottom.
//
// The middleware:
//   - none: the PyPI protocol and operations answer installers, uploaders
//     and monitoring, without sessions or form tokens;
//   - s.uploadSlots: caps the uploads in progress per client address;
//   - s.ui: a page of the web UI: the request's session, the UI's security
//     headers, the form token of every write, and the site-wide two-factor
//     requirement (gateTwoFactor);
//   - s.manageAction: a project management post (inside s.ui): the
//     signed-in principal, the domain call, a flash message and a redirect;
//   - s.api: the JSON management API: an API token or the session (and
//     its form token on writes);
//   - everything is also behind the handler chain of New (security
//     headers, panics, client address, metrics and access log, the
//     administrators' gate, cross-origin protection).
//
// The handlers are grouped by audience, each group a type holding the
// services it uses and a back-pointer to the Server for the shared
// helpers (sessions, rendering, error answers).
//
// It returns the handler of every route: the mux, behind hotRoutes, which
// routes the two hottest (file downloads and project pages) first.
func (s *Server) routes(mux *routeMux) http.Handler {
	pypi := &pypiAPI{s: s, idx: s.idx}
	tp := &trustedPublishing{s: s, verifier: s.opts.OIDC, publish: s.opts.Publish, limiter: s.acct.Limiter()}
	pub := &public{s: s, readmes: readme.NewRenderer(s.idx.Descriptions(), 0, 0),
		searches: make(chan struct{}, searchConcurrency), stats: s.opts.Stats}
	acct := &accountPages{s: s, acct: s.acct, rec: s.opts.Recovery}
	tfa := &twoFactorPages{s: s, acct: s.acct, tf: s.tf}
	manage := &managePages{s: s, idx: s.idx, md: s.md}
	api := &manageAPI{s: s, idx: s.idx}
	admin := &adminPages{s: s, rec: s.opts.Recovery, idx: s.idx, acct: s.acct}

	// The PyPI protocol (pypi_*.go): the legacy upload API, the simple
	// repository API (PEP 503, 691), the JSON API and the files.
	mux.HandleFunc("POST /legacy/{$}", s.uploadSlots(pypi.upload))
	mux.HandleFunc("POST /legacy", s.uploadSlots(pypi.upload)) // never redirect a POST
	mux.HandleFunc("GET /simple/{$}", pypi.simpleRoot)
	mux.HandleFunc("GET /simple", redirectTo("/simple/"))
	mux.HandleFunc(patternProject, pypi.simpleProject)
	mux.HandleFunc("GET /simple/{project}", pypi.simpleProjectNoSlash)
	mux.HandleFunc("GET /pypi/{project}/json", pypi.jsonProject)
	mux.HandleFunc("GET /pypi/{project}/json/{$}", pypi.jsonProject)
	mux.HandleFunc("GET /pypi/{project}/{version}/json", pypi.jsonRelease)
	mux.HandleFunc("GET /pypi/{project}/{version}/json/{$}", pypi.jsonRelease)
	mux.HandleFunc(patternFile, pypi.file)
	// Trusted publishing (pypi_oidc.go): a CI job exchanges its OIDC ID
	// token for a short-lived upload token. An API without cookies: a
	// session gives no power here, so no form token either.
	mux.HandleFunc("GET /_/oidc/audience", tp.audience)
	mux.HandleFunc("POST /_/oidc/mint-token", tp.mintToken)
	// PyPI's legacy name of mint-token, which the publish action
	// (pypa/gh-action-pypi-publish) still posts to.
	mux.HandleFunc("POST /_/oidc/github/mint-token", tp.mintToken)

	// Operations (ops.go): probes, metrics and the UI's static files.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if !s.opts.MetricsElsewhere {
		mux.Handle("GET /metrics", s.metricsEndpoint(true))
	}
	mux.Handle("GET /static/", s.staticHandler())

	// The public pages of the web UI (ui_home.go, ui_help.go,
	// ui_public.go, ui_stats.go).
	mux.Handle("GET /{$}", s.ui(pub.home))
	mux.Handle("GET /help/{$}", s.ui(pub.help))
	mux.Handle("GET /project/{project}/{$}", s.ui(pub.project))
	mux.Handle("GET /project/{project}/{version}/{$}", s.ui(pub.project))
	if s.opts.Reports != nil {
		rep := &reportPages{s: s}
		mux.Handle("GET /project/{project}/report/{$}", s.ui(rep.form))
		mux.Handle("POST /project/{project}/report/{$}", s.ui(rep.submit))
	}
	mux.Handle("GET /project/{project}", s.ui(addSlash))
	mux.Handle("GET /project/{project}/{version}", s.ui(addSlash))
	mux.Handle("GET /user/{username}/{$}", s.ui(pub.user))
	mux.Handle("GET /user/{username}", s.ui(addSlash))
	mux.Handle("GET /search/{$}", s.ui(pub.search))
	mux.HandleFunc("GET /search", redirectTo("/search/"))
	if pub.stats != nil {
		mux.Handle("GET /stats/2fa", s.ui(pub.statsPage))
		mux.HandleFunc("GET /stats/2fa.json", pub.statsJSON)
	}

	// Accounts (ui_session.go, ui_account_*.go): signing in and out,
	// registration, email verification, password reset, account recovery
	// of a user who lost every second factor, the account settings and
	// the security-key giveaway.
	mux.Handle("GET /account/login/{$}", s.ui(acct.loginPage))
	mux.Handle("POST /account/login/{$}", s.ui(acct.loginPost))
	mux.Handle("POST /account/logout/{$}", s.ui(acct.logoutPost))
	mux.Handle("GET /account/register/{$}", s.ui(acct.registerPage))
	mux.Handle("POST /account/register/{$}", s.ui(acct.registerPost))
	mux.Handle("GET /account/verify-email/{$}", s.ui(acct.verifyEmailPage))
	mux.Handle("POST /account/verify-email/{$}", s.ui(acct.verifyEmailPost))
	mux.Handle("GET /account/reset-password/{$}", s.ui(acct.resetRequestPage))
	mux.Handle("POST /account/reset-password/{$}", s.ui(acct.resetRequestPost))
	mux.Handle("GET /account/reset-password/confirm/{$}", s.ui(acct.resetConfirmPage))
	mux.Handle("POST /account/reset-password/confirm/{$}", s.ui(acct.resetConfirmPost))
	if acct.rec != nil {
		mux.Handle("GET /account/recovery/{$}", s.ui(acct.recoveryRequestPage))
		mux.Handle("POST /account/recovery/{$}", s.ui(acct.recoveryRequestPost))
		mux.Handle("GET /account/recovery/confirm/{$}", s.ui(acct.recoveryConfirmPage))
		mux.Handle("POST /account/recovery/confirm/{$}", s.ui(acct.recoveryConfirmPost))
		mux.Handle("GET /account/recovery/cancel/{$}", s.ui(acct.recoveryCancelPage))
		mux.Handle("POST /account/recovery/cancel/{$}", s.ui(acct.recoveryCancelPost))
	}
	mux.Handle("GET /manage/account/{$}", s.ui(acct.manageAccountPage))
	mux.Handle("POST /manage/account/email/{$}", s.ui(acct.changeEmailPost))
	mux.Handle("POST /manage/account/password/{$}", s.ui(acct.changePasswordPost))
	mux.Handle("POST /manage/account/resend-verification/{$}", s.ui(acct.resendVerificationPost))
	mux.Handle("POST /manage/account/sessions/logout-all/{$}", s.ui(acct.logoutAllPost))
	mux.Handle("GET /manage/account/security-history/{$}", s.ui(acct.securityHistoryPage))
	// The sessions page (ui_account_sessions.go): where the user is
	// signed in, sign out one session; its keys' and tokens' last use.
	sess := &sessionPages{s: s, acct: s.acct, tf: s.tf, idx: s.idx}
	mux.Handle("GET /manage/account/sessions/{$}", s.ui(sess.page))
	mux.Handle("POST /manage/account/sessions/{id}/logout", s.ui(sess.signOut))
	// Its browsers that skip the new-device confirmation
	// (ui_known_devices.go): forget one, or all.
	mux.Handle("POST /manage/account/sessions/devices/{id}/forget", s.ui(sess.forgetDevice))
	mux.Handle("POST /manage/account/sessions/devices/forget-all/{$}", s.ui(sess.forgetDevices))
	if s.opts.Promo != nil {
		mux.Handle("GET /manage/account/security-keys-giveaway/{$}", s.ui(acct.giveawayPage))
		mux.Handle("POST /manage/account/security-keys-giveaway/{$}", s.ui(acct.giveawayClaim))
	}

	// New-device confirmation (ui_device.go): the page a sign-in from a
	// new browser waits on, and the emailed link that confirms it.
	dev := &devicePages{s: s, acct: s.acct}
	mux.Handle("GET /account/new-device/{$}", s.ui(dev.waitPage))
	mux.Handle("POST /account/new-device/resend", s.ui(dev.resendPost))
	mux.Handle("GET /account/confirm-device/{$}", s.ui(dev.linkPage))
	mux.Handle("POST /account/confirm-device/{$}", s.ui(dev.linkPost))

	// Two-factor authentication (ui_twofactor*.go), when enabled: the
	// second step of signing in, the set-up pages of authenticator apps
	// (TOTP), security keys (WebAuthn) and recovery codes, and
	// re-authentication before a sensitive change.
	if tfa.tf != nil {
		mux.Handle("GET /account/two-factor/{$}", s.ui(tfa.twoFactorChooser))
		mux.Handle("GET /account/two-factor/totp/{$}", s.ui(tfa.twoStepTOTPPage))
		mux.Handle("POST /account/two-factor/totp/{$}", s.ui(tfa.twoStepTOTPPost))
		mux.Handle("GET /account/two-factor/webauthn/{$}", s.ui(tfa.webauthnSecondStep))
		mux.Handle("POST /account/two-factor/webauthn/options", s.ui(tfa.webauthnLoginOptions))
		mux.Handle("POST /account/two-factor/webauthn/verify", s.ui(tfa.webauthnLoginVerify))
		mux.Handle("GET /account/two-factor/recovery-code/{$}", s.ui(tfa.twoStepRecoveryPage))
		mux.Handle("POST /account/two-factor/recovery-code/{$}", s.ui(tfa.twoStepRecoveryPost))

		mux.Handle("GET /manage/account/two-factor/{$}", s.ui(tfa.twoFactorManage))
		mux.Handle("GET /manage/account/totp/{$}", s.ui(tfa.totpPage))
		mux.Handle("POST /manage/account/totp/begin", s.ui(tfa.totpBegin))
		mux.Handle("POST /manage/account/totp/confirm", s.ui(tfa.totpConfirm))
		mux.Handle("POST /manage/account/totp/remove", s.ui(tfa.totpRemove))
		mux.Handle("GET /manage/account/webauthn/{$}", s.ui(tfa.webauthnManage))
		mux.Handle("POST /manage/account/webauthn/options", s.ui(tfa.webauthnRegisterOptions))
		mux.Handle("POST /manage/account/webauthn/register", s.ui(tfa.webauthnRegister))
		mux.Handle("POST /manage/account/webauthn/{id}/rename", s.ui(tfa.webauthnRename))
		mux.Handle("POST /manage/account/webauthn/{id}/remove", s.ui(tfa.webauthnRemove))
		mux.Handle("GET /manage/account/recovery-codes/{$}", s.ui(tfa.recoveryCodesPage))
		mux.Handle("POST /manage/account/recovery-codes/{$}", s.ui(tfa.recoveryCodesGenerate))
		mux.Handle("POST /manage/account/recovery-codes/confirm", s.ui(tfa.recoveryCodesConfirm))

		mux.Handle("GET /manage/account/reauth/{$}", s.ui(tfa.reauthPage))
		mux.Handle("POST /manage/account/reauth/{$}", s.ui(tfa.reauthPost))
		mux.Handle("POST /manage/account/reauth/webauthn/options", s.ui(tfa.webauthnReauthOptions))
		mux.Handle("POST /manage/account/reauth/webauthn/verify", s.ui(tfa.webauthnReauthVerify))
	}

	// Passkeys (ui_passkey.go), unless turned off (--no-passkeys): signing
	// in with one alone, adding one, and making a security key one.
	if s.passkeysOn() {
		mux.Handle("POST /account/login/passkey/options", s.ui(tfa.passkeyLoginOptions))
		mux.Handle("POST /account/login/passkey/verify", s.ui(tfa.passkeyLoginVerify))
		mux.Handle("POST /manage/account/webauthn/passkey/options", s.ui(tfa.passkeyRegisterOptions))
		mux.Handle("POST /manage/account/webauthn/passkey/register", s.ui(tfa.passkeyRegister))
		mux.Handle("POST /manage/account/webauthn/{id}/passkey/options", s.ui(tfa.passkeyUpgradeOptions))
		mux.Handle("POST /manage/account/webauthn/{id}/passkey/upgrade", s.ui(tfa.passkeyUpgrade))
	}

	// Project management pages (ui_manage_*.go): the user's projects and
	// invitations, a project's releases, collaborators and history, and
	// the user's API tokens.
	const proj = "/manage/project/{project}"
	mux.Handle("GET /manage/projects/{$}", s.ui(manage.manageProjects))
	mux.Handle("POST "+proj+"/invitation/accept", s.ui(s.manageAction(manage.acceptInvitation)))
	mux.Handle("POST "+proj+"/invitation/decline", s.ui(s.manageAction(manage.declineInvitation)))
	mux.Handle("GET "+proj+"/{$}", s.ui(manage.manageProject))
	mux.Handle("POST "+proj+"/delete", s.ui(s.manageAction(manage.deleteProject)))
	mux.Handle("POST "+proj+"/settings/two-factor", s.ui(s.manageAction(manage.setRequire2FA)))
	mux.Handle("POST "+proj+"/settings/status", s.ui(s.manageAction(manage.setStatus)))
	mux.Handle("POST "+proj+"/settings/visibility", s.ui(s.manageAction(manage.setVisibility)))
	mux.Handle("GET "+proj+"/release/{version}/{$}", s.ui(manage.manageRelease))
	mux.Handle("POST "+proj+"/release/{version}/yank", s.ui(s.manageAction(manage.yankRelease)))
	mux.Handle("POST "+proj+"/release/{version}/unyank", s.ui(s.manageAction(manage.unyankRelease)))
	mux.Handle("POST "+proj+"/release/{version}/delete", s.ui(s.manageAction(manage.deleteRelease)))
	mux.Handle("POST "+proj+"/release/{version}/file/delete", s.ui(s.manageAction(manage.deleteFile)))
	mux.Handle("GET "+proj+"/collaboration/{$}", s.ui(manage.manageCollaboration))
	mux.Handle("POST "+proj+"/collaboration/invite", s.ui(s.manageAction(manage.inviteCollaborator)))
	mux.Handle("POST "+proj+"/collaboration/revoke", s.ui(s.manageAction(manage.revokeInvitation)))
	mux.Handle("POST "+proj+"/collaboration/role", s.ui(s.manageAction(manage.changeRole)))
	mux.Handle("POST "+proj+"/collaboration/remove", s.ui(s.manageAction(manage.removeCollaborator)))
	mux.Handle("POST "+proj+"/collaboration/leave", s.ui(s.manageAction(manage.leaveProject)))
	mux.Handle("GET "+proj+"/history/{$}", s.ui(manage.manageHistory))
	if s.opts.Publish != nil {
		mux.Handle("GET "+proj+"/publishing/{$}", s.ui(manage.managePublishing))
		mux.Handle("POST "+proj+"/publishing/add", s.ui(manage.addPublisher))
		mux.Handle("POST "+proj+"/publishing/{id}/remove", s.ui(manage.removePublisher))
		mux.Handle("GET /manage/account/publishing/{$}", s.ui(manage.managePending))
		mux.Handle("POST /manage/account/publishing/add", s.ui(manage.addPending))
		mux.Handle("POST /manage/account/publishing/{id}/remove", s.ui(manage.removePending))
	}
	mux.Handle("GET /manage/account/tokens/{$}", s.ui(manage.manageTokens))
	mux.Handle("POST /manage/account/tokens/{$}", s.ui(manage.createToken))
	mux.Handle("POST /manage/account/tokens/{id}/revoke", s.ui(s.manageAction(manage.revokeToken)))

	// The JSON management API (api_manage.go).
	mux.Handle("GET /api/projects/{project}/{$}", s.api(api.apiProject))
	mux.Handle("POST /api/projects/{project}/releases/{version}/yank", s.api(api.apiYank))
	mux.Handle("POST /api/projects/{project}/releases/{version}/unyank", s.api(api.apiUnyank))
	mux.Handle("POST /api/projects/{project}/status", s.api(api.apiStatus))
	mux.Handle("POST /api/projects/{project}/visibility", s.api(api.apiVisibility))
	mux.Handle("GET /api/projects/{project}/roles", s.api(api.apiRoles))
	mux.Handle("POST /api/projects/{project}/roles", s.api(api.apiInvite))
	mux.Handle("DELETE /api/projects/{project}/roles/{username}", s.api(api.apiRemoveRole))
	mux.Handle("GET /api/projects/{project}/publishers", s.api(api.apiPublishers))
	mux.Handle("POST /api/projects/{project}/publishers", s.api(api.apiAddPublisher))
	mux.Handle("DELETE /api/projects/{project}/publishers/{id}", s.api(api.apiRemovePublisher))
	mux.Handle("GET /api/publishers/pending", s.api(api.apiPendingPublishers))
	mux.Handle("POST /api/publishers/pending", s.api(api.apiAddPending))
	mux.Handle("DELETE /api/publishers/pending/{id}", s.api(api.apiRemovePending))
	mux.Handle("GET /api/tokens", s.api(api.apiTokens))
	mux.Handle("POST /api/tokens", s.api(api.apiCreateToken))
	mux.Handle("DELETE /api/tokens/{id}", s.api(api.apiRevokeToken))

	// Administration (admin_*.go): hidden from everybody but signed-in
	// administrators (adminOnly, in New), and refused to administrators
	// without two-factor authentication (administrator).
	mux.Handle("GET /admin/{$}", s.ui(admin.adminIndex))
	mux.Handle("GET /admin/critical/{$}", s.ui(admin.adminCritical))
	mux.Handle("GET /admin/lookalikes/{$}", s.ui(admin.adminLookalikes))
	mux.Handle("POST /admin/lookalikes/{project}/approve", s.ui(admin.adminLookalikeApprove))
	mux.Handle("POST /admin/lookalikes/{project}/reject", s.ui(admin.adminLookalikeReject))
	mux.Handle("GET /admin/names/{$}", s.ui(admin.adminNames))
	mux.Handle("POST /admin/names/{$}", s.ui(admin.adminNameProhibit))
	mux.Handle("POST /admin/names/{name}/lift", s.ui(admin.adminNameLift))
	mux.Handle("GET /admin/upstream/{$}", s.ui(admin.adminUpstream))
	mux.Handle("POST /admin/upstream/{$}", s.ui(admin.adminUpstreamAdd))
	mux.Handle("POST /admin/upstream/remove", s.ui(admin.adminUpstreamRemove))
	mux.Handle("GET /admin/users/{$}", s.ui(admin.adminUsers))
	mux.Handle("POST /admin/users/{username}/disable", s.ui(admin.adminUserDisable))
	mux.Handle("POST /admin/users/{username}/enable", s.ui(admin.adminUserEnable))
	if admin.rec != nil {
		mux.Handle("GET /admin/recovery/{$}", s.ui(admin.adminRecovery))
		mux.Handle("POST /admin/recovery/{id}/approve", s.ui(admin.adminRecoveryApprove))
		mux.Handle("POST /admin/recovery/{id}/reject", s.ui(admin.adminRecoveryReject))
	}
	if s.opts.Promo != nil {
		mux.Handle("GET /admin/promo/{$}", s.ui(admin.adminPromo))
	}
	if s.opts.Reports != nil {
		mux.Handle("GET /admin/reports/{$}", s.ui(admin.adminReports))
		mux.Handle("POST /admin/reports/{project}/quarantine", s.ui(admin.adminReportsQuarantine))
		mux.Handle("POST /admin/reports/{project}/dismiss", s.ui(admin.adminReportsDismiss))
	}
	mux.Handle("GET /admin/quarantine/{$}", s.ui(admin.adminQuarantine))
	mux.Handle("POST /admin/quarantine/{$}", s.ui(admin.adminQuarantinePost))
	mux.Handle("POST /admin/quarantine/{project}/release", s.ui(admin.adminQuarantineRelease))
	return &hotRoutes{mux: mux.ServeMux, file: pypi.serveFile, project: pypi.serveProject}
}

// routeMux is a ServeMux that remembers its patterns, so that tests can
// check that every route is accounted for (the two-factor mandate's
// table of write routes).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// Handle registers a route.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers a route.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// redirectTo answers with a permanent redirect to target, keeping the
// query.
func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		to := target
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, to, http.StatusMovedPermanently)
	}
}
