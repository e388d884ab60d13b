package web

// The administrators' page of quarantined projects (/admin/quarantine/,
// with the access rules of /admin/critical/): the projects in quarantine,
// with their reasons and a button to release each, and a form to
// quarantine a project.

import (
	"net/http"

	"cheeseshop/internal/store"
)

// adminQuarantineView is what admin_quarantine.html shows.
type adminQuarantineView struct {
	// NeedTwoFactor: the administrator has no two-factor authentication
	// and sees only how to set it up.
	NeedTwoFactor bool
	Projects      []*store.Project
}

const adminQuarantineTitle = "Quarantined projects"

func (a *adminPages) adminQuarantine(w http.ResponseWriter, r *http.Request) {
	if a.s.administrator(w, r, "admin_quarantine", adminQuarantineTitle, adminQuarantineView{NeedTwoFactor: true}) == nil {
		return
	}
	ps, err := a.s.idx.Quarantined(r.Context())
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusOK, "admin_quarantine", adminQuarantineTitle, adminQuarantineView{Projects: ps})
}

// adminQuarantinePost quarantines the project named in the form, for the
// reason given.
func (a *adminPages) adminQuarantinePost(w http.ResponseWriter, r *http.Request) {
	c := a.s.administrator(w, r, "admin_quarantine", adminQuarantineTitle, adminQuarantineView{NeedTwoFactor: true})
	if c == nil {
		return
	}
	name := r.PostFormValue("project")
	done := name + " is quarantined: none of its files is served, nothing in it can change. Its Owners were told."
	if proxied, err := a.s.idx.IsProxiedName(r.Context(), name); err == nil && proxied {
		done = name + " is quarantined: no local project has that name, and no upstream's project of that name is served."
	}
	err := a.s.idx.Quarantine(r.Context(), c.User, meta(r), name, r.PostFormValue("reason"))
	a.quarantineDone(w, r, err, done)
}

// adminQuarantineRelease releases a project from quarantine.
func (a *adminPages) adminQuarantineRelease(w http.ResponseWriter, r *http.Request) {
	c := a.s.administrator(w, r, "admin_quarantine", adminQuarantineTitle, adminQuarantineView{NeedTwoFactor: true})
	if c == nil {
		return
	}
	name := r.PathValue("project")
	done := name + " is released from quarantine: it is as it was before, and its files are served again. Its Owners were told."
	if proxied, err := a.s.idx.IsProxiedName(r.Context(), name); err == nil && proxied {
		done = name + " is released from quarantine: the upstream's project of that name is served again."
	}
	err := a.s.idx.ReleaseFromQuarantine(r.Context(), c.User, meta(r), name)
	a.quarantineDone(w, r, err, done)
}

// quarantineDone goes back to the list with the outcome: a refusal (an
// unknown project, no reason, already quarantined) as a message there.
func (a *adminPages) quarantineDone(w http.ResponseWriter, r *http.Request, err error, ok string) {
	a.done(w, r, err, "/admin/quarantine/", func() string { return ok })
}
