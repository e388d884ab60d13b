package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strings"

	"github.com/pquerna/otp"

	"cheeseshop/internal/account"
)

// totpSetupView is a secret being set up: scanned as a QR code or typed.
type totpSetupView struct {
	QR             template.URL // data:image/png;base64,...
	SecretGroups   string       // the secret in groups of 4
	Secret         string
	URI            string
	Issuer         string
	Account        string
	Algorithm      string
	Digits, Period string
}

// totpView is the authenticator-app page.
type totpView struct {
	Enabled           bool
	RecoveryConfirmed bool
	Setup             *totpSetupView
	Error             string
	Required          bool
}

// newTOTPSetupView builds the view of a secret from its otpauth URI, and
// the QR code from png (or, when nil, from the URI).
func newTOTPSetupView(uri string, qr []byte) (*totpSetupView, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, err
	}
	if qr == nil {
		img, err := key.Image(240, 240)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, err
		}
		qr = buf.Bytes()
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	secret := key.Secret()
	var groups []string
	for i := 0; i < len(secret); i += 4 {
		groups = append(groups, secret[i:min(i+4, len(secret))])
	}
	alg, digits, period := q.Get("algorithm"), q.Get("digits"), q.Get("period")
	if alg == "" {
		alg = "SHA1"
	}
	if digits == "" {
		digits = "6"
	}
	if period == "" {
		period = "30"
	}
	return &totpSetupView{
		// The image is our own PNG, base64-encoded: never user input.
		QR:           template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(qr)),
		SecretGroups: strings.Join(groups, " "), Secret: secret, URI: uri,
		Issuer: key.Issuer(), Account: key.AccountName(), Algorithm: alg, Digits: digits, Period: period,
	}, nil
}

// totpURI is the provisioning URI of a secret, as BeginTOTP makes it.
func (t *twoFactorPages) totpURI(username, secret string) string {
	issuer := t.tf.Config().Issuer
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + username, RawQuery: v.Encode()}
	return u.String()
}

// renderTOTP shows the authenticator-app page: enabled (with removal),
// the set-up in progress (setup, or the session's pending secret), or how
// to start.
func (t *twoFactorPages) renderTOTP(w http.ResponseWriter, r *http.Request, c *account.Current, status int, setup *totpSetupView, msg string) {
	v := totpView{Enabled: c.User.HasTOTP, RecoveryConfirmed: c.User.RecoveryCodesConfirmed, Setup: setup, Error: msg}
	if req, err := t.tf.Required(r.Context(), c.User); err == nil {
		v.Required = req != ""
	}
	if !v.Enabled && v.Setup == nil && v.RecoveryConfirmed {
		if secret, ok := t.tf.PendingTOTP(r.Context(), c); ok {
			sv, err := newTOTPSetupView(t.totpURI(c.User.Username, secret), nil)
			if err != nil {
				t.s.fail(w, r, err)
				return
			}
			v.Setup = sv
		}
	}
	t.s.render(w, r, status, "totp_manage", "Authenticator app", v)
}

// totpRefused answers a refused change of the app: with the
// re-authentication it wants, on the page (a refusal of the form), or as a
// failure.
func (t *twoFactorPages) totpRefused(w http.ResponseWriter, r *http.Request, c *account.Current, err error) {
	if t.reauthRefused(w, r, err, "/manage/account/totp/") {
		return
	}
	if status, ok := formStatus(err); ok {
		t.renderTOTP(w, r, c, status, nil, err.Error())
		return
	}
	t.s.fail(w, r, err)
}

func (t *twoFactorPages) totpPage(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil {
		return
	}
	t.renderTOTP(w, r, c, http.StatusOK, nil, "")
}

// totpBegin makes a new secret and shows it.
func (t *twoFactorPages) totpBegin(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil || !t.s.requireRecentAuth(w, r, c, "/manage/account/totp/") {
		return
	}
	setup, err := t.tf.BeginTOTP(r.Context(), c)
	if err != nil {
		t.totpRefused(w, r, c, err)
		return
	}
	sv, err := newTOTPSetupView(setup.URI, setup.QRPNG)
	if err != nil {
		t.s.fail(w, r, err)
		return
	}
	t.renderTOTP(w, r, c, http.StatusOK, sv, "")
}

// totpConfirm enables the app once the user types its first code; a
// wrong code keeps the set-up going.
func (t *twoFactorPages) totpConfirm(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil || !t.s.requireRecentAuth(w, r, c, "/manage/account/totp/") {
		return
	}
	if err := t.tf.ConfirmTOTP(r.Context(), c, r.PostFormValue("code"), meta(r)); err != nil {
		t.totpRefused(w, r, c, err)
		return
	}
	// A browser in which its user set up the app is known.
	t.s.rememberDevice(w, r, c.User.ID)
	t.s.addFlash(w, r, "ok", "Your authenticator app is enabled. From now on, signing in asks for a code from it.")
	redirect(w, r, "/manage/account/two-factor/")
}

// totpRemove removes the app, after a recent re-authentication.
func (t *twoFactorPages) totpRemove(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil || !t.s.requireRecentAuth(w, r, c, "/manage/account/totp/") {
		return
	}
	if err := t.tf.RemoveTOTP(r.Context(), c, meta(r)); err != nil {
		t.totpRefused(w, r, c, err)
		return
	}
	t.s.addFlash(w, r, "ok", "The authenticator app was removed from your account.")
	redirect(w, r, "/manage/account/two-factor/")
}

// twoStepTOTPPage is the second step of signing in with the app.
func (t *twoFactorPages) twoStepTOTPPage(w http.ResponseWriter, r *http.Request) {
	t.twoStepPage(w, r, "twostep_totp", "totp")
}

func (t *twoFactorPages) twoStepTOTPPost(w http.ResponseWriter, r *http.Request) {
	t.twoStepPost(w, r, "twostep_totp", "totp", func(c *account.Current, code string) (int, error) {
		return 0, t.tf.VerifyTOTP(r.Context(), c.User, code, meta(r))
	})
}
