package web

// The administrators' index page (/admin/) and their pages of names and
// users: the look-alike review queue (/admin/lookalikes/), prohibited
// names (/admin/names/) and disabling accounts (/admin/users/), with the
// access rules of /admin/critical/. Every action is a form post (with
// its form token, checked by s.ui), recorded as an event by its domain
// call, which also drops what the caches hold of it.

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// adminIndexPage is what admin_index.html shows.
type adminIndexPage struct {
	NeedTwoFactor bool
	Critical      bool // the critical projects' page exists
	Recovery      bool // account recovery is on
	Promo         bool // the giveaway is on
	// Reports is on when users may report projects; Reported counts the
	// projects with open reports.
	Reports  bool
	Reported int
	// Held and Flagged count the projects waiting in the review queue.
	Held, Flagged int
}

// adminIndex links every administrators' page.
func (a *adminPages) adminIndex(w http.ResponseWriter, r *http.Request) {
	const title = "Administration"
	if a.s.administrator(w, r, "admin_index", title, adminIndexPage{NeedTwoFactor: true}) == nil {
		return
	}
	rs, err := a.idx.NameReviews(r.Context())
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	d := adminIndexPage{Critical: a.s.md != nil, Recovery: a.rec != nil, Promo: a.s.opts.Promo != nil, Reports: a.s.opts.Reports != nil}
	if d.Reports {
		q, err := a.s.opts.Reports.Queue(r.Context())
		if err != nil {
			a.s.fail(w, r, err)
			return
		}
		d.Reported = len(q)
	}
	for _, x := range rs {
		if x.Held {
			d.Held++
		} else {
			d.Flagged++
		}
	}
	a.s.render(w, r, http.StatusOK, "admin_index", title, d)
}

// adminLookalikesPage is what admin_lookalikes.html shows.
type adminLookalikesPage struct {
	NeedTwoFactor bool
	Reviews       []*store.NameReview
}

func (a *adminPages) lookalikesAdmin(w http.ResponseWriter, r *http.Request) *account.Current {
	return a.s.administrator(w, r, "admin_lookalikes", "Look-alike names", adminLookalikesPage{NeedTwoFactor: true})
}

// adminLookalikes is the review queue: projects created under a
// look-alike of a protected name, held or flagged.
func (a *adminPages) adminLookalikes(w http.ResponseWriter, r *http.Request) {
	if a.lookalikesAdmin(w, r) == nil {
		return
	}
	rs, err := a.idx.NameReviews(r.Context())
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusOK, "admin_lookalikes", "Look-alike names", adminLookalikesPage{Reviews: rs})
}

// adminLookalikeApprove publishes a held project (or dismisses a flagged
// one).
func (a *adminPages) adminLookalikeApprove(w http.ResponseWriter, r *http.Request) {
	c := a.lookalikesAdmin(w, r)
	if c == nil {
		return
	}
	rv, err := a.idx.ApproveName(r.Context(), c.User, meta(r), r.PathValue("project"))
	a.done(w, r, err, "/admin/lookalikes/", func() string {
		if rv.Held {
			return rv.Project + " approved: it is published now; " + rv.Uploader + " was told."
		}
		return rv.Project + " approved: it leaves the review queue."
	})
}

// adminLookalikeReject deletes a project of the queue and prohibits its
// name.
func (a *adminPages) adminLookalikeReject(w http.ResponseWriter, r *http.Request) {
	c := a.lookalikesAdmin(w, r)
	if c == nil {
		return
	}
	// Rejecting deletes the project with its files: like approving an
	// account recovery, it needs a recent proof that the administrator is
	// at the keyboard, not a stolen session.
	if !a.s.requireRecentAuth(w, r, c, "/admin/lookalikes/") {
		return
	}
	rv, err := a.idx.RejectName(r.Context(), c.User, meta(r), r.PathValue("project"))
	a.done(w, r, err, "/admin/lookalikes/", func() string {
		if rv.Kind == store.ReviewUpstreamName {
			return rv.Project + " deleted with its files; the upstream's project of that name stays served."
		}
		return rv.Project + " deleted with its files, and its name prohibited."
	})
}

// done ends an administrator's action: a refusal becomes an error
// message, success the message ok() writes; both go back to page.
func (a *adminPages) done(w http.ResponseWriter, r *http.Request, err error, page string, ok func() string) {
	if err != nil {
		if e, isProblem := problem.As(err); isProblem && e.Kind != problem.TooManyRequests && e.Kind != problem.Unavailable {
			a.s.addFlash(w, r, "error", e.Message)
			redirect(w, r, page)
			return
		}
		a.s.fail(w, r, err)
		return
	}
	a.s.addFlash(w, r, "ok", ok())
	redirect(w, r, page)
}

// adminNamesPage is what admin_names.html shows.
type adminNamesPage struct {
	NeedTwoFactor bool
	Names         []store.ProhibitedName
}

func (a *adminPages) namesAdmin(w http.ResponseWriter, r *http.Request) *account.Current {
	return a.s.administrator(w, r, "admin_names", "Prohibited names", adminNamesPage{NeedTwoFactor: true})
}

// adminNames lists the prohibited names, with the forms to add and lift.
func (a *adminPages) adminNames(w http.ResponseWriter, r *http.Request) {
	if a.namesAdmin(w, r) == nil {
		return
	}
	ns, err := a.idx.ProhibitedNames(r.Context())
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusOK, "admin_names", "Prohibited names", adminNamesPage{Names: ns})
}

// adminNameProhibit prohibits the name of the form.
func (a *adminPages) adminNameProhibit(w http.ResponseWriter, r *http.Request) {
	c := a.namesAdmin(w, r)
	if c == nil {
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	err := a.idx.ProhibitName(r.Context(), c.User, meta(r), name, r.PostFormValue("reason"))
	a.done(w, r, err, "/admin/names/", func() string {
		return name + " is prohibited, with every name that looks like it (an existing project of that name is not affected)."
	})
}

// adminNameLift lifts a prohibition.
func (a *adminPages) adminNameLift(w http.ResponseWriter, r *http.Request) {
	c := a.namesAdmin(w, r)
	if c == nil {
		return
	}
	name := r.PathValue("name")
	err := a.idx.LiftProhibition(r.Context(), c.User, meta(r), name)
	a.done(w, r, err, "/admin/names/", func() string { return name + " is no longer prohibited." })
}

// adminUsersPage is what admin_users.html shows.
type adminUsersPage struct {
	NeedTwoFactor bool
	Query         string
	// User is the account looked up (nil: none asked, or not found).
	User *store.User
}

func (a *adminPages) usersAdmin(w http.ResponseWriter, r *http.Request) *account.Current {
	return a.s.administrator(w, r, "admin_users", "Users", adminUsersPage{NeedTwoFactor: true})
}

// adminUsers looks an account up (?user=NAME) to disable or enable it.
func (a *adminPages) adminUsers(w http.ResponseWriter, r *http.Request) {
	if a.usersAdmin(w, r) == nil {
		return
	}
	d := adminUsersPage{Query: strings.TrimSpace(r.URL.Query().Get("user"))}
	if d.Query != "" {
		u, err := a.acct.UserByUsername(r.Context(), d.Query)
		switch {
		case err == nil:
			d.User = u
		case errors.Is(err, store.ErrNotFound):
		default:
			a.s.fail(w, r, err)
			return
		}
	}
	a.s.render(w, r, http.StatusOK, "admin_users", "Users", d)
}

// adminUserSetDisabled disables or re-enables an account; administrators
// cannot disable their own.
func (a *adminPages) adminUserSetDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	c := a.usersAdmin(w, r)
	if c == nil {
		return
	}
	name := r.PathValue("username")
	back := "/admin/users/?user=" + url.QueryEscape(name)
	if disabled && strings.EqualFold(name, c.User.Username) {
		a.s.addFlash(w, r, "error", "You cannot disable your own account.")
		redirect(w, r, back)
		return
	}
	// Disabling locks a user out (and could lock out other
	// administrators): it needs a recent re-authentication, as approving
	// an account recovery does. Enabling again does not.
	if disabled && !a.s.requireRecentAuth(w, r, c, back) {
		return
	}
	u, err := a.acct.SetDisabled(r.Context(), c.User, name, disabled, meta(r))
	if err == nil && disabled {
		a.idx.AccessChanged() // its tokens stop reading here at once
	}
	a.done(w, r, err, back, func() string {
		if disabled {
			return u.Username + " is disabled: every session ended, its API tokens are refused."
		}
		return u.Username + " is enabled again."
	})
}

func (a *adminPages) adminUserDisable(w http.ResponseWriter, r *http.Request) {
	a.adminUserSetDisabled(w, r, true)
}

func (a *adminPages) adminUserEnable(w http.ResponseWriter, r *http.Request) {
	a.adminUserSetDisabled(w, r, false)
}
