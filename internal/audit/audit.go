// Package audit names the security events of users and projects and
// records them with who did it, from where.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/useragent"
)

// Meta describes the request behind an action.
type Meta struct {
	IP        string
	UserAgent string
}

// Event tags. Account events are shown on the account's security history,
// project events on the project's.
const (
	LoginSuccess       = "account:login:success"
	LoginFailure       = "account:login:failure"
	Logout             = "account:logout"
	LogoutEverywhere   = "account:logout:everywhere"
	AccountCreated     = "account:create"
	RegisterEmailTaken = "account:create:email_taken"
	EmailVerified      = "account:email:verified"
	EmailChanged       = "account:email:changed"
	PasswordChanged    = "account:password:changed"
	PasswordReset      = "account:password:reset"
	PasswordResetAsked = "account:password:reset:request"
	AccountDisabled    = "account:disabled"
	AccountEnabled     = "account:enabled"
	RateLimited        = "account:ratelimited"

	// LoginNewDevice: a second step by an authenticator app or a recovery
	// code passed in a browser the account had not used, and a link to
	// confirm it was emailed.
	LoginNewDevice = "account:login:new_device"

	TwoFactorAdded         = "account:two_factor:method_added"
	TwoFactorRemoved       = "account:two_factor:method_removed"
	SecurityKeyRenamed     = "account:two_factor:key_renamed"
	SecurityKeyCloned      = "account:two_factor:key_counter_regressed"
	TwoFactorFailure       = "account:two_factor:failure"
	RecoveryCodesGenerated = "account:recovery_codes:generated"
	RecoveryCodesConfirmed = "account:recovery_codes:confirmed"
	RecoveryCodeUsed       = "account:recovery_codes:used"
	Reauthenticated        = "account:reauthenticated"

	// SecurityKeyUpgraded: a security key was replaced by a passkey
	// (a discoverable, user-verified credential) under the same label.
	SecurityKeyUpgraded = "account:two_factor:key_upgraded"

	RecoveryRequested = "account:recovery:requested"
	RecoveryConfirmed = "account:recovery:confirmed"
	RecoveryCancelled = "account:recovery:cancelled"
	RecoveryApproved  = "account:recovery:approved"
	RecoveryRejected  = "account:recovery:rejected"

	PromoClaimed = "account:promo:claimed"

	TokenCreated = "account:api_token:created"
	TokenUsed    = "account:api_token:used"
	TokenRevoked = "account:api_token:revoked"
	// TokenRefused: a token tried what tokens may not do (the management
	// API through an upload-only token; handling tokens through any).
	TokenRefused = "account:api_token:refused"

	ProjectCreated   = "project:create"
	ProjectDeleted   = "project:delete"
	FileUploaded     = "project:file:upload"
	FileDeleted      = "project:file:delete"
	ReleaseDeleted   = "project:release:delete"
	ReleaseYanked    = "project:release:yank"
	ReleaseUnyanked  = "project:release:unyank"
	RoleInvited      = "project:role:invite"
	RoleInviteRevoke = "project:role:invite:revoke"
	RoleAccepted     = "project:role:accept"
	RoleDeclined     = "project:role:decline"
	RoleChanged      = "project:role:change"
	RoleRemoved      = "project:role:remove"

	// FileRecordMismatch: a wheel was published although its RECORD
	// disagrees with its contents (as PyPI does; --strict-record refuses).
	FileRecordMismatch = "project:file:record_mismatch"

	// ProjectImported: an administrator imported a file of the project
	// from another index (cheeseshop admin import), creating its release
	// or the project itself when new.
	ProjectImported = "project:import"

	ProjectCritical       = "project:critical"
	Project2FARequired    = "project:two_factor:required"
	Project2FANotRequired = "project:two_factor:not_required"
	MandateRefused        = "project:two_factor:refused"

	// An Owner or an administrator makes a project private (read only by
	// its collaborators and the administrators) or public again.
	ProjectPrivate = "project:visibility:private"
	ProjectPublic  = "project:visibility:public"

	// A project created under a look-alike of a protected name: held
	// out of the index, or published and flagged; then an
	// administrator's decision.
	LookalikeHeld     = "project:lookalike:held"
	LookalikeFlagged  = "project:lookalike:flagged"
	LookalikeApproved = "project:lookalike:approved"
	LookalikeRejected = "project:lookalike:rejected"

	// A new local project takes a name an upstream index lists
	// (dependency confusion, --upstream-local-names): refused, held for
	// review, or created and shadowing the upstream's project.
	UpstreamNameRefused  = "project:upstream_name:refused"
	UpstreamNameHeld     = "project:upstream_name:held"
	UpstreamNameShadowed = "project:upstream_name:shadowed"

	// An administrator adds or removes a rule on upstream names (allow,
	// deny, local; a break glass of the minimum release age).
	UpstreamRuleAdded   = "upstream:rule:added"
	UpstreamRuleRemoved = "upstream:rule:removed"

	// An administrator prohibits a project name, or lifts a prohibition.
	NameProhibited = "admin:name:prohibited"
	NameLifted     = "admin:name:lifted"

	// A project's status (PEP 792): its Owners archive, deprecate and
	// reactivate it; administrators quarantine and release it.
	ProjectArchived     = "project:status:archive"
	ProjectUnarchived   = "project:status:unarchive"
	ProjectDeprecated   = "project:status:deprecate"
	ProjectUndeprecated = "project:status:undeprecate"
	ProjectQuarantined  = "project:status:quarantine"
	ProjectReleased     = "project:status:release"

	// A user reports a project to the administrators; an administrator
	// dismisses its open reports, or a quarantine (whatever its path)
	// resolves them.
	ProjectReported  = "project:report"
	ReportsDismissed = "project:report:dismissed"
	ReportsResolved  = "project:report:resolved"

	// Trusted publishing: an Owner adds or removes a project's
	// publisher; a publisher's ID token is exchanged for a short-lived
	// upload token (recorded on each of its projects); an account adds
	// or removes a pending publisher, which creates its project on first
	// use.
	PublisherAdded          = "project:publisher:add"
	PublisherRemoved        = "project:publisher:remove"
	PublisherTokenMinted    = "project:publisher:token"
	PendingPublisherAdded   = "account:pending_publisher:add"
	PendingPublisherRemoved = "account:pending_publisher:remove"

	// The proxy of upstream indexes: an administrator quarantines a
	// proxied name or releases it (project_id is empty: the name has no
	// local project); an upstream sent a file whose SHA-256 or size
	// differs from what its page lists (nothing was stored).
	UpstreamQuarantined  = "upstream:quarantine"
	UpstreamReleased     = "upstream:release"
	UpstreamHashMismatch = "upstream:file:hash_mismatch"

	// An administrator refuses the email addresses of a domain (as
	// disposable or prohibited), allows them, removes its rule, or
	// imports a list of disposable domains.
	EmailDomainBlocked  = "admin:email_domain:blocked"
	EmailDomainAllowed  = "admin:email_domain:allowed"
	EmailDomainRemoved  = "admin:email_domain:removed"
	EmailDomainImported = "admin:email_domain:imported"

	// SessionRevoked: the user signed out one of its other sessions from
	// the sessions page (details: that session's ip and user_agent).
	SessionRevoked = "account:session:revoked"

	// The user forgot one of the browsers that skip the emailed
	// confirmation of a new device, from the sessions page (details: its
	// ip and user_agent when last seen), or all of them (details: how
	// many devices).
	DeviceForgotten  = "account:device:forgotten"
	DevicesForgotten = "account:devices:forgotten"
)

// Adder is what records events: the store or a transaction.
type Adder interface {
	AddEvent(ctx context.Context, e *store.Event) error
}

// Record stores an event at time at, with the request's metadata and
// details marshalled as JSON.
func Record(ctx context.Context, q Adder, at time.Time, m Meta, e store.Event, details map[string]any) error {
	e.IP, e.UserAgent, e.CreatedAt = m.IP, truncate(m.UserAgent, 512), at
	if len(details) > 0 {
		b, err := json.Marshal(details)
		if err != nil {
			return fmt.Errorf("audit: %s: %w", e.Tag, err)
		}
		e.Details = string(b)
	}
	if err := q.AddEvent(ctx, &e); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// truncate cuts a client's text (its User-Agent) to at most n bytes of
// valid UTF-8 without NUL: PostgreSQL refuses both in a text column (an
// agent with a byte 0xff would fail the write), and a cut may split a
// character.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}

// Describe turns an event into a sentence for the security history pages.
func Describe(e *store.Event) string {
	var d map[string]any
	_ = json.Unmarshal([]byte(e.Details), &d)
	s := func(k string) string {
		v, _ := d[k].(string)
		return v
	}
	switch e.Tag {
	case LoginSuccess:
		if m := s("two_factor_method"); m == "passkey" {
			return "Signed in with " + methodName(m, s("label"))
		} else if m != "" {
			if d["new_device"] == true {
				return "Signed in with a password and " + methodName(m, s("label")) + " from a new browser, confirmed by the emailed link"
			}
			return "Signed in with a password and " + methodName(m, s("label"))
		}
		return "Signed in"
	case LoginNewDevice:
		return "Sign-in with a password and " + methodName(s("two_factor_method"), "") + " from a new browser: a confirmation link was emailed"
	case TwoFactorAdded:
		return "Two-factor method added: " + methodName(s("method"), s("label"))
	case TwoFactorRemoved:
		return "Two-factor method removed: " + methodName(s("method"), s("label"))
	case SecurityKeyRenamed:
		return "Security key renamed from " + s("old") + " to " + s("label")
	case SecurityKeyUpgraded:
		return "Security key made a passkey: " + methodName(s("method"), s("label"))
	case SecurityKeyCloned:
		return "Security key refused: its signature counter went backwards (" + s("label") + "), a sign that it was cloned"
	case TwoFactorFailure:
		return "Failed second step (" + methodName(s("method"), s("label")) + "): " + s("reason")
	case RecoveryCodesGenerated:
		return "Recovery codes generated"
	case RecoveryCodesConfirmed:
		return "Recovery codes confirmed as saved"
	case RecoveryCodeUsed:
		return fmt.Sprintf("Recovery code used (%v left)", d["left"])
	case Reauthenticated:
		return "Identity confirmed again (" + methodName(s("method"), s("label")) + ")"
	case RecoveryRequested:
		return "Account recovery requested (every second factor lost)"
	case RecoveryConfirmed:
		return "Account recovery request confirmed by email; the waiting period started"
	case RecoveryCancelled:
		return "Account recovery request cancelled"
	case RecoveryApproved:
		return "Account recovery approved by " + s("by") + ": every second factor removed, every session ended, password reset required" + devicesForgotten(d)
	case RecoveryRejected:
		return "Account recovery rejected by " + s("by")
	case LoginFailure:
		return "Failed sign-in: " + s("reason")
	case Logout:
		return "Signed out"
	case LogoutEverywhere:
		return "Signed out of every session"
	case SessionRevoked:
		return "Signed out another session: " + useragent.Summary(s("user_agent")) + ", from " + useragent.Printable(s("ip"), 64)
	case DeviceForgotten:
		return "Browser forgotten: " + useragent.Summary(s("user_agent")) + ", last seen from " + useragent.Printable(s("ip"), 64) +
			"; its next sign-in with an authenticator app or a recovery code asks for the emailed confirmation again"
	case DevicesForgotten:
		return fmt.Sprintf("Every browser forgotten (%v): their next sign-in with an authenticator app or a recovery code asks for the emailed confirmation again", d["devices"])
	case AccountCreated:
		return "Account created"
	case RegisterEmailTaken:
		return "Someone tried to create another account (" + s("username") + ") with this email address"
	case EmailVerified:
		return "Email address verified: " + s("email")
	case EmailChanged:
		return "Email address changed from " + s("old") + " to " + s("new")
	case PasswordChanged:
		return "Password changed" + devicesForgotten(d)
	case PasswordReset:
		return "Password reset by email link" + devicesForgotten(d)
	case PasswordResetAsked:
		return "Password reset requested"
	case AccountDisabled:
		return "Account disabled by an administrator"
	case AccountEnabled:
		return "Account re-enabled by an administrator"
	case RateLimited:
		return "Too many failed attempts: " + s("limit")
	case PromoClaimed:
		return "Security-key giveaway: code claimed for shipping to " + s("country")
	case TokenCreated:
		d := "API token created: " + s("name") + " (" + s("scope")
		if p := s("permission"); p != "" {
			d += "; " + p
		}
		if by := s("by"); by != "" {
			d += "; by an " + by
		}
		return d + ")"
	case TokenUsed:
		return "API token used: " + s("name")
	case TokenRefused:
		return "API token refused: " + s("name") + " tried " + s("tried")
	case TokenRevoked:
		return "API token revoked: " + s("name")
	case ProjectCreated:
		return "Project created by " + s("by")
	case ProjectDeleted:
		return "Project deleted by " + s("by")
	case FileUploaded:
		if _, ok := d["publisher_id"]; ok {
			// The token's name: the publisher and the commit.
			return "File published by " + s("by") + " (trusted publishing): " + s("filename")
		}
		return "File uploaded by " + s("by") + ": " + s("filename")
	case ProjectImported:
		d := "File imported by " + s("by") + ": " + s("filename")
		if o := s("original"); o != "" {
			d += " (" + o + " in the source)"
		}
		if src := s("source"); src != "" {
			d += " from " + src
		}
		return d
	case FileRecordMismatch:
		return "File uploaded with a RECORD that does not match its contents: " + s("filename") + ": " + s("problem")
	case FileDeleted:
		return "File deleted by " + s("by") + ": " + s("filename")
	case ReleaseDeleted:
		return "Release " + s("version") + " deleted by " + s("by")
	case ReleaseYanked:
		return "Release " + s("version") + " yanked by " + s("by") + ": " + s("reason")
	case ReleaseUnyanked:
		return "Release " + s("version") + " un-yanked by " + s("by")
	case RoleInvited:
		return s("by") + " invited " + s("user") + " as " + s("role")
	case RoleInviteRevoke:
		return s("by") + " revoked the invitation of " + s("user")
	case RoleAccepted:
		return s("user") + " accepted the role " + s("role")
	case RoleDeclined:
		return s("user") + " declined the role " + s("role")
	case RoleChanged:
		return s("by") + " changed the role of " + s("user") + " to " + s("role")
	case RoleRemoved:
		return s("by") + " removed " + s("user") + " (" + s("role") + ")"
	case ProjectCritical:
		return fmt.Sprintf("Became a critical project: %v downloads in %s (the cut was %v)", d["downloads"], s("window"), d["cutoff"])
	case Project2FARequired:
		return s("by") + " required two-factor authentication of every collaborator"
	case Project2FANotRequired:
		return s("by") + " stopped requiring two-factor authentication of every collaborator"
	case MandateRefused:
		return "Refused to " + s("user") + " without two-factor authentication: " + s("action")
	case LookalikeHeld:
		return "Held for review: the name resembles " + s("target") + " (" + s("kind") + ")"
	case LookalikeFlagged:
		return "Flagged to the administrators: the name resembles " + s("target") + " (" + s("kind") + ")"
	case LookalikeApproved:
		return "Name approved by an administrator (" + s("by") + ")"
	case LookalikeRejected:
		if s("kind") == "upstream-name" {
			return "Deleted by an administrator (" + s("by") + "): the name is the upstream index's (" + s("target") + ")"
		}
		return "Deleted by an administrator (" + s("by") + ") as a look-alike of " + s("target") + "; the name is prohibited"
	case UpstreamNameRefused:
		if d["unknown"] == true {
			return "Refused to " + s("by") + ": the upstream index could not be asked whether it lists the name"
		}
		return "Refused to " + s("by") + ": the name exists on the upstream index " + s("upstream")
	case UpstreamNameHeld:
		if d["unknown"] == true {
			return "Held for review: the upstream index could not be asked whether it lists the name"
		}
		return "Held for review: the name exists on the upstream index " + s("upstream")
	case UpstreamNameShadowed:
		return "Created although the upstream index " + s("upstream") + " lists the name: this project hides the upstream's"
	case UpstreamRuleAdded:
		desc := "Upstream rule added by " + s("by") + ": " + s("action") + " " + s("pattern")
		if d["skip_min_age"] == true {
			desc += " (skips the minimum release age)"
		}
		if x := s("expires"); x != "" {
			desc += ", until " + x
		}
		return withReason(desc, s("reason"))
	case UpstreamRuleRemoved:
		return "Upstream rule removed by " + s("by") + ": " + s("action") + " " + s("pattern")
	case NameProhibited:
		return "Name prohibited by an administrator (" + s("by") + "): " + s("reason")
	case NameLifted:
		return "Name prohibition lifted by an administrator (" + s("by") + ")"
	case ProjectArchived:
		return withReason("Project archived by "+s("by"), s("reason"))
	case ProjectUnarchived:
		return "Project unarchived by " + s("by")
	case ProjectDeprecated:
		return withReason("Project deprecated by "+s("by"), s("reason"))
	case ProjectUndeprecated:
		return "Project no longer deprecated, by " + s("by")
	case ProjectQuarantined:
		return withReason("Project quarantined by "+s("by"), s("reason"))
	case ProjectReleased:
		return "Project released from quarantine by " + s("by") + ", back to " + s("status")
	case ProjectReported:
		return "Reported to the administrators by " + s("by") + " (" + s("kind") + ")"
	case ReportsDismissed:
		return fmt.Sprintf("Reports dismissed by an administrator (%s): %v", s("by"), d["count"])
	case ReportsResolved:
		return fmt.Sprintf("Reports resolved by the quarantine (%s): %v", s("by"), d["count"])
	case PublisherAdded:
		return "Trusted publisher added by " + s("by") + ": " + s("publisher")
	case PublisherRemoved:
		return "Trusted publisher removed by " + s("by") + ": " + s("publisher")
	case PublisherTokenMinted:
		return "Upload token minted for " + s("publisher") + ", valid until " + s("expires")
	case PendingPublisherAdded:
		return "Pending trusted publisher added for the new project " + s("project") + ": " + s("publisher")
	case PendingPublisherRemoved:
		return "Pending trusted publisher removed (" + s("project") + "): " + s("publisher")

	case EmailDomainBlocked:
		return withReason("Email domain "+s("domain")+" refused as "+s("kind")+" by "+s("by"), s("reason"))
	case EmailDomainAllowed:
		return withReason("Email domain "+s("domain")+" allowed by "+s("by"), s("reason"))
	case EmailDomainRemoved:
		return "Rule on the email domain " + s("domain") + " (" + s("kind") + ") removed by " + s("by")
	case EmailDomainImported:
		return fmt.Sprintf("%v disposable email domains imported by %s (%v read)", d["added"], s("by"), d["read"])
	}
	return e.Tag
}

// withReason adds a reason, when one was given, to a description.
func withReason(d, reason string) string {
	if reason == "" {
		return d
	}
	return d + ": " + reason
}

// methodName names a second factor for people.
func methodName(method, label string) string {
	switch method {
	case "totp":
		return "authenticator app"
	case "webauthn":
		if label != "" {
			return "security key \u201c" + label + "\u201d"
		}
		return "security key"
	case "passkey":
		if label != "" {
			return "passkey \u201c" + label + "\u201d"
		}
		return "passkey"
	case "recovery-code":
		return "recovery code"
	case "password":
		return "password"
	}
	return method
}

// devicesForgotten is the end of the description of an event that forgot
// the user's known devices (details: devices_forgotten, how many), or ""
// when there was none.
func devicesForgotten(d map[string]any) string {
	if n, _ := d["devices_forgotten"].(float64); n > 0 {
		return "; the browsers that skipped the emailed confirmation must confirm again"
	}
	return ""
}
