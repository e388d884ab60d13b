package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/words"
)

// cookieDevice holds the browser's device id and its HMAC
// (account.NewDeviceCookie): one per browser, whatever account signs in,
// kept a year.
const (
	cookieDevice    = "device"
	deviceCookieAge = 365 * 24 * 60 * 60
)

// deviceID returns the browser's device id, from its device cookie when
// this deployment minted it, else from a new cookie set on w (a forged or
// altered cookie is replaced, never looked up). Without new-device
// confirmation, browsers are not told apart: "", and no cookie.
func (s *Server) deviceID(w http.ResponseWriter, r *http.Request) string {
	if !s.acct.Config().NewDeviceConfirmation {
		return ""
	}
	st := stateOf(r)
	if st != nil && st.device != "" {
		return st.device
	}
	var id string
	if ck, err := r.Cookie(s.cookieName(cookieDevice)); err == nil {
		id = s.acct.DeviceID(ck.Value)
	}
	if id == "" {
		value := s.acct.NewDeviceCookie()
		id = s.acct.DeviceID(value)
		s.setCookie(w, cookieDevice, value, deviceCookieAge)
	}
	if st != nil {
		st.device = id
	}
	return id
}

// rememberDevice records that the user signed in, or set up a second
// factor, in the browser of r (minting its device cookie if it has none):
// a later sign-in from it with an authenticator app or a recovery code is
// not asked to confirm the browser by email. Its device cookie is renewed
// when the record was (at most once a day). A failure is logged: it only
// costs a confirmation later.
func (s *Server) rememberDevice(w http.ResponseWriter, r *http.Request, userID int64) {
	device := s.deviceID(w, r)
	if device == "" {
		return
	}
	renew, err := s.acct.RememberDevice(r.Context(), userID, device, meta(r))
	if err != nil {
		s.log.ErrorContext(r.Context(), "remember device", "user", userID, "err", err)
	} else if renew {
		s.renewDeviceCookie(w, r)
	}
}

// devicePages serves the confirmation of a sign-in from a new browser:
// the page the browser waits on, and the emailed link.
type devicePages struct {
	s    *Server
	acct *account.Service
}

// deviceWaitView is the waiting page.
type deviceWaitView struct {
	Email string // masked
	Next  string
	TTL   string
}

// awaiting returns the session of r awaiting the confirmation of its
// browser, or sends the browser on (signed in: to next; else to the login
// page) and returns nil.
func (d *devicePages) awaiting(w http.ResponseWriter, r *http.Request, next string) *account.Current {
	c := d.s.session(r)
	if c != nil && c.AwaitingDevice() {
		return c
	}
	if c != nil && !c.Pending() {
		redirect(w, r, next)
		return nil
	}
	d.s.addFlash(w, r, "error", "Your sign-in expired. Log in again.")
	redirect(w, r, "/account/login/?next="+urlQueryEscape(next))
	return nil
}

// waitPage tells the browser whose sign-in waits for its confirmation
// where the link went, with a button to send it again and one to cancel.
// Once the link was opened in this browser (in another tab), it goes on.
func (d *devicePages) waitPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	c := d.awaiting(w, r, next)
	if c == nil {
		return
	}
	d.s.render(w, r, http.StatusOK, "device_wait", "Confirm this browser", deviceWaitView{
		Email: maskEmail(c.User.Email), Next: next, TTL: words.Duration(account.DeviceConfirmTTL)})
}

// resendPost emails a new link (the earlier ones stop working).
func (d *devicePages) resendPost(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	c := d.awaiting(w, r, next)
	if c == nil {
		return
	}
	back := "/account/new-device/?next=" + urlQueryEscape(next)
	if err := d.acct.ResendDeviceLink(r.Context(), c, meta(r)); err != nil {
		if problem.KindOf(err) == problem.TooManyRequests {
			d.s.addFlash(w, r, "error", err.Error())
			redirect(w, r, back)
			return
		}
		d.s.fail(w, r, err)
		return
	}
	d.s.addFlash(w, r, "ok", "We sent a new link. Links from earlier emails no longer work.")
	redirect(w, r, back)
}

// deviceLinkView is the page of an emailed link.
type deviceLinkView struct {
	Token string
	// Here: the link works in this browser (a button confirms);
	// otherwise Error says why not, and Elsewhere whether it works in
	// another browser.
	Here      bool
	Elsewhere bool
	Error     string
}

// linkPage shows the page of an emailed link: a button when this browser
// is the one signing in (a GET changes nothing: mail scanners follow
// links), else why the link does nothing here.
func (d *devicePages) linkPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	state, err := d.acct.CheckDeviceLink(r.Context(), d.s.session(r), token, meta(r))
	if err != nil {
		d.s.fail(w, r, err)
		return
	}
	if state == account.DeviceLinkHere {
		d.s.render(w, r, http.StatusOK, "device_confirm", "Confirm this browser", deviceLinkView{Token: token, Here: true})
		return
	}
	d.linkRefused(w, r, state.Err())
}

// linkRefused shows why a link does not work in this browser.
func (d *devicePages) linkRefused(w http.ResponseWriter, r *http.Request, err error) {
	d.s.render(w, r, statusOf(err), "device_confirm", "Confirm this browser",
		deviceLinkView{Error: err.Error(), Elsewhere: problem.KindOf(err) == problem.Forbidden})
}

// linkPost confirms the browser with the link, when this browser is the
// one signing in, and signs it in.
func (d *devicePages) linkPost(w http.ResponseWriter, r *http.Request) {
	cookie, err := d.acct.ConfirmDevice(r.Context(), d.s.session(r), r.PostFormValue("token"), d.s.deviceID(w, r), meta(r))
	if err != nil {
		if account.IsDeviceLinkError(err) {
			d.linkRefused(w, r, err)
			return
		}
		d.s.fail(w, r, err)
		return
	}
	d.s.setCookie(w, cookieSession, cookie, 0)
	d.s.renewDeviceCookie(w, r)
	d.s.addFlash(w, r, "ok", "This browser is confirmed: you are signed in. Signing in here again will not ask for an email link.")
	redirect(w, r, "/manage/account/")
}

// maskEmail shows enough of an address for its owner to recognise it:
// the first letter of the mailbox and the domain.
func maskEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "your email address"
	}
	_, first := utf8.DecodeRuneInString(local) // a letter, not a byte of one
	return local[:first] + strings.Repeat("•", min(utf8.RuneCountInString(local[first:]), 5)+1) + "@" + domain
}
