package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/twofactor"
)

// recoveryView is the recovery-codes page.
type recoveryView struct {
	Methods *twofactor.Methods
	// Codes are the codes just generated, shown once; Download is them as
	// a text file (a data: URI).
	Codes    []string
	Download template.URL
	Error    string
	LowWater int
}

func (t *twoFactorPages) renderRecovery(w http.ResponseWriter, r *http.Request, c *account.Current, status int, v recoveryView) {
	m, err := t.tf.MethodsOf(r.Context(), c.User.ID)
	if err != nil {
		t.s.fail(w, r, err)
		return
	}
	v.Methods, v.LowWater = m, twofactor.RecoveryLowWater
	t.s.render(w, r, status, "recovery_codes", "Recovery codes", v)
}

// recoveryCodesPage shows the state of the user's recovery codes.
func (t *twoFactorPages) recoveryCodesPage(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil {
		return
	}
	t.renderRecovery(w, r, c, http.StatusOK, recoveryView{})
}

// recoveryCodesGenerate makes a new set of codes and shows them, once.
// Generating them, the first set as a new one, needs a recent
// re-authentication.
func (t *twoFactorPages) recoveryCodesGenerate(w http.ResponseWriter, r *http.Request) {
	const back = "/manage/account/recovery-codes/"
	c := t.s.requireUser(w, r)
	if c == nil || !t.s.requireRecentAuth(w, r, c, back) {
		return
	}
	codes, err := t.tf.GenerateRecoveryCodes(r.Context(), c, meta(r))
	if err != nil {
		if !t.reauthRefused(w, r, err, back) {
			t.s.fail(w, r, err)
		}
		return
	}
	text := "Recovery codes for " + c.User.Username + " at " + t.s.idx.Config().BaseURL + "\n" +
		"Each code works once.\n\n" + strings.Join(codes, "\n") + "\n"
	t.renderRecovery(w, r, c, http.StatusOK, recoveryView{Codes: codes,
		Download: template.URL("data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(text)))})
}

// recoveryCodesConfirm takes one of the new codes typed back.
func (t *twoFactorPages) recoveryCodesConfirm(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil {
		return
	}
	err := t.tf.ConfirmRecoveryCodes(r.Context(), c, r.PostFormValue("code"), meta(r))
	if err != nil {
		if status, ok := formStatus(err); ok {
			t.renderRecovery(w, r, c, status, recoveryView{Error: err.Error()})
			return
		}
		t.s.fail(w, r, err)
		return
	}
	t.s.addFlash(w, r, "ok", "Your recovery codes are confirmed. Now add an authenticator app or a security key.")
	redirect(w, r, "/manage/account/two-factor/")
}

// formStatus returns the status with which a refusal is shown on the
// form that caused it; false for the refusals shown on their own page
// (rate limits, internal errors).
func formStatus(err error) (int, bool) {
	switch problem.KindOf(err) {
	case problem.Invalid, problem.Unauthenticated, problem.Forbidden, problem.NotFound:
		return statusOf(err), true
	}
	return 0, false
}

// twoStepRecoveryPage is the second step of signing in with a recovery code.
func (t *twoFactorPages) twoStepRecoveryPage(w http.ResponseWriter, r *http.Request) {
	t.twoStepPage(w, r, "twostep_recovery", "recovery-code")
}

func (t *twoFactorPages) twoStepRecoveryPost(w http.ResponseWriter, r *http.Request) {
	t.twoStepPost(w, r, "twostep_recovery", "recovery-code", func(c *account.Current, code string) (int, error) {
		return t.tf.UseRecoveryCode(r.Context(), c.User, code, meta(r))
	})
}

// twoStepPage shows the form of a second step by a typed code (the
// template tmpl, of method "totp" or "recovery-code").
func (t *twoFactorPages) twoStepPage(w http.ResponseWriter, r *http.Request, tmpl, method string) {
	c := t.pendingSession(w, r)
	if c == nil {
		return
	}
	t.renderTwoStep(w, r, c, http.StatusOK, tmpl, method, "")
}

// twoStepPost checks the code posted to twoStepPage's form with verify
// (which returns the recovery codes left, for a recovery code) and, when
// right, signs the session in; a wrong code shows the form again.
func (t *twoFactorPages) twoStepPost(w http.ResponseWriter, r *http.Request, tmpl, method string,
	verify func(c *account.Current, code string) (left int, err error)) {
	c := t.pendingSession(w, r)
	if c == nil {
		return
	}
	left, err := verify(c, r.PostFormValue("code"))
	if err != nil {
		if _, ok := formStatus(err); ok {
			t.renderTwoStep(w, r, c, http.StatusUnauthorized, tmpl, method, err.Error())
			return
		}
		t.s.fail(w, r, err)
		return
	}
	t.finishSecondStep(w, r, c, method, "", left)
}

// twoStepView is a second-step page.
type twoStepView struct {
	Next    string
	Error   string
	Others  []secondStepMethod
	Pending string // the username
}

func (t *twoFactorPages) renderTwoStep(w http.ResponseWriter, r *http.Request, c *account.Current, status int, tmpl, method, msg string) {
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	next = safeNext(next)
	// The links to the other methods carry next along.
	q := r.URL.Query()
	q.Set("next", next)
	r.URL.RawQuery = q.Encode()
	t.s.render(w, r, status, tmpl, "Two-factor authentication", twoStepView{Next: next, Error: msg,
		Others: t.secondStepMethods(r, c, method), Pending: c.User.Username})
}
