package web

import (
	"net/http"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/index"
	"cheeseshop/internal/recovery"
	"cheeseshop/internal/twofactor"
	"cheeseshop/internal/words"
)

// helpPage is what help.html receives: the settings and limits of this
// index, for people, so that the page says what this server does. The
// base URL is the view's.
type helpPage struct {
	MaxFileSize, MaxProjectSize string
	LegacySdistNames            bool // --legacy-sdist-names
	MinPasswordLength           int
	VerifyEmailTTL, ResetTTL    string
	InvitationLifetime          string

	// TwoFactor is false when the server runs without second factors;
	// the rest of this group is then unset.
	TwoFactor          bool
	RequireAll         bool // --require-2fa
	RecoveryCodes      int
	PendingTimeout     string // time for the second step of a sign-in
	ReauthWindow       string
	FailedMax          int // second-step failures per user before a wait
	FailedWindow       string
	RecoveryRequests   int    // account-recovery requests per user a day
	RecoveryConfirmTTL string // how long the emailed confirmation works
	RecoveryWait       string // "": no account recovery on this server
	Mandate            bool   // critical projects and the 2FA mandate
	MandateGrace       string // "": none
	Giveaway           bool   // the security-key giveaway runs
	GiveawayEnd        string // its last day ("": no end)
	GiveawayRoleAge    string // "": no minimum
	GiveawayKeyOwners  bool   // users with a security key may claim

	// NewDeviceTTL is how long the emailed confirmation of a sign-in from
	// a new browser works ("": no confirmation asked).
	NewDeviceTTL string
}

func (p *public) help(w http.ResponseWriter, r *http.Request) {
	cfg := p.s.idx.Config()
	d := helpPage{
		MaxFileSize:        byteSize(cfg.MaxFileSize),
		MaxProjectSize:     byteSize(cfg.MaxProjectSize),
		LegacySdistNames:   cfg.LegacySdistNames,
		MinPasswordLength:  auth.MinPasswordLength,
		VerifyEmailTTL:     words.Duration(account.VerifyEmailTTL),
		ResetTTL:           words.Duration(account.ResetPasswordTTL),
		InvitationLifetime: words.Duration(index.InvitationLifetime),
	}
	if p.s.tf != nil {
		limit := twofactor.UserLimits[0]
		d.TwoFactor = true
		d.RequireAll = p.s.tf.Config().RequireAll
		d.RecoveryCodes = twofactor.RecoveryCodeCount
		d.PendingTimeout = words.Duration(account.DefaultPendingTimeout)
		d.ReauthWindow = words.Duration(twofactor.ReauthWindow)
		d.FailedMax = limit.Max
		d.FailedWindow = words.Duration(limit.Window)
		if p.s.acct.Config().NewDeviceConfirmation {
			d.NewDeviceTTL = words.Duration(account.DeviceConfirmTTL)
		}
	}
	if rec := p.s.opts.Recovery; rec != nil {
		d.RecoveryWait = words.Duration(rec.Config().Wait)
		d.RecoveryConfirmTTL = words.Duration(recovery.ConfirmTTL)
		d.RecoveryRequests = recovery.UserLimit.Max
	}
	if p.s.md != nil {
		d.Mandate = true
		if g := p.s.md.Config().Grace; g > 0 {
			d.MandateGrace = words.Duration(g)
		}
	}
	if pr := p.s.opts.Promo; pr != nil {
		pc := pr.Config()
		d.Giveaway = true
		if !pc.End.IsZero() {
			// End is the first moment after the giveaway.
			d.GiveawayEnd = pc.End.Add(-time.Nanosecond).Format("January 2, 2006")
		}
		d.GiveawayKeyOwners = pc.AllowKeyOwners
		if pc.MinRoleAge > 0 {
			d.GiveawayRoleAge = words.Duration(pc.MinRoleAge)
		}
	}
	p.s.render(w, r, http.StatusOK, "help", "Help", d)
}
