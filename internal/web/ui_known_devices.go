package web

import (
	"fmt"
	"net/http"

	"cheeseshop/internal/account"
)

// The browsers that skip the emailed confirmation of a new device, on the
// sessions page: listed, forgotten one by one or all. Forgetting signs
// nothing out.

// maxDeviceRows bounds the known devices the page lists (the latest used
// first, and always this browser); "Forget all" forgets the others too.
const maxDeviceRows = 100

// knownDevicesSection is the sessions page's list of known devices.
type knownDevicesSection struct {
	// On: the server asks new browsers to confirm (the section shows).
	On      bool
	Devices []account.KnownDeviceView
	// Hidden counts the devices beyond maxDeviceRows.
	Hidden int
}

// knownDevices returns the section of the known devices of c's user, this
// browser marked.
func (p *sessionPages) knownDevices(r *http.Request, c *account.Current) (knownDevicesSection, error) {
	sec := knownDevicesSection{On: p.acct.Config().NewDeviceConfirmation}
	if !sec.On {
		return sec, nil
	}
	all, err := p.acct.KnownDevices(r.Context(), c, p.s.cookieDeviceID(r))
	if err != nil {
		return sec, err
	}
	for i, d := range all {
		if i >= maxDeviceRows && !d.Current {
			sec.Hidden++
			continue
		}
		sec.Devices = append(sec.Devices, d)
	}
	return sec, nil
}

// forgetDevice forgets one of the user's known devices.
func (p *sessionPages) forgetDevice(w http.ResponseWriter, r *http.Request) {
	c := p.s.requireUser(w, r)
	if c == nil {
		return
	}
	if err := p.acct.ForgetDevice(r.Context(), c, r.PathValue("id"), meta(r)); err != nil {
		p.s.fail(w, r, err)
		return
	}
	p.s.addFlash(w, r, "ok", "That browser is forgotten: its next sign-in with an authenticator app or a recovery code asks for the emailed link again. It was not signed out.")
	redirect(w, r, sessionsURL+"#known-devices")
}

// forgetDevices forgets every known device of the user.
func (p *sessionPages) forgetDevices(w http.ResponseWriter, r *http.Request) {
	c := p.s.requireUser(w, r)
	if c == nil {
		return
	}
	n, err := p.acct.ForgetDevices(r.Context(), c, meta(r))
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	msg := "There was no browser to forget."
	switch {
	case n == 1:
		msg = "1 browser forgotten: its next sign-in with an authenticator app or a recovery code asks for the emailed link again. It was not signed out."
	case n > 1:
		msg = fmt.Sprintf("%d browsers forgotten: the next sign-in with an authenticator app or a recovery code in any of them asks for the emailed link again. None was signed out.", n)
	}
	p.s.addFlash(w, r, "ok", msg)
	redirect(w, r, sessionsURL+"#known-devices")
}

// cookieDeviceID returns the device id of the request's device cookie when
// this deployment minted it, else "" (a page that only reads it mints
// none).
func (s *Server) cookieDeviceID(r *http.Request) string {
	ck, err := r.Cookie(s.cookieName(cookieDevice))
	if err != nil {
		return ""
	}
	return s.acct.DeviceID(ck.Value)
}

// renewDeviceCookie sets the browser's device cookie again for its full
// lifetime, when the request carried one this deployment minted (one
// minted for this answer is new already), so that a browser in use keeps
// it past its first year. Called when its known device was recorded (at
// most once a day: account.DeviceRefresh).
func (s *Server) renewDeviceCookie(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(s.cookieName(cookieDevice))
	if err != nil || s.acct.DeviceID(ck.Value) == "" {
		return
	}
	s.setCookie(w, cookieDevice, ck.Value, deviceCookieAge)
}
