package account

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
)

// Rate limits of the account emails and registrations.
var (
	// RegisterLimit bounds the accounts created from one IP address.
	RegisterLimit = ratelimit.Rule{Max: 10, Window: time.Hour}
	// ResendLimit bounds the verification emails a user asks for again.
	ResendLimit = ratelimit.Rule{Max: 5, Window: time.Hour}
	// ResetIPLimit bounds the password-reset requests from one IP address.
	ResetIPLimit = ratelimit.Rule{Max: 10, Window: time.Hour}
	// ResetUserLimit bounds the reset emails sent to one user.
	ResetUserLimit = ratelimit.Rule{Max: 3, Window: time.Hour}
)

// Form field names used in Error.Fields.
const (
	FieldUsername        = "username"
	FieldEmail           = "email"
	FieldPassword        = "password"
	FieldConfirm         = "password_confirm"
	FieldCurrentPassword = "current_password"
)

// MaxUsernameLength and MaxEmailLength bound what an account may use.
const (
	MaxUsernameLength = 50
	MaxEmailLength    = 254
)

// ValidUsername reports whether name follows PyPI's rules: 1 to 50 ASCII
// letters, digits, '.', '_' or '-', starting and ending with a letter or a
// digit.
func ValidUsername(name string) bool {
	if name == "" || len(name) > MaxUsernameLength {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return alnum(name[0]) && alnum(name[len(name)-1])
}

// checkEmail returns what is wrong with an address, or "": it must be one
// plain address (no display name, no list), as net/mail parses it.
func checkEmail(email string) string {
	if email == "" {
		return "Enter your email address."
	}
	if len(email) > MaxEmailLength {
		return fmt.Sprintf("This email address is too long (at most %d characters).", MaxEmailLength)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || strings.ContainsAny(email, "\r\n\t <>,;\"") ||
		!strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "This is not a valid email address: enter one address, like name@example.org."
	}
	return ""
}

// checkNewPassword returns what is wrong with a chosen password and its
// confirmation, as form field errors.
func checkNewPassword(fields map[string]string, password, confirm, username, email string) {
	if err := auth.CheckPassword(password, username, email); err != nil {
		fields[FieldPassword] = err.Error()
	} else if password != confirm {
		fields[FieldConfirm] = "The two passwords differ: type the same password twice."
	}
}

func invalidFields(fields map[string]string) error {
	return &Error{Kind: Invalid, Msg: "Correct the fields marked below.", Fields: fields}
}

// Registration is what a person fills in to create an account.
type Registration struct {
	Username        string
	Email           string
	Password        string
	PasswordConfirm string
}

// Register creates an account with an unverified email address, emails it a
// verification link, and signs it in (a new session, as Login). Every field
// error is reported at once in Error.Fields. Accounts created per IP
// address are limited by RegisterLimit.
func (s *Service) Register(ctx context.Context, reg Registration, m audit.Meta) (*Login, error) {
	reg.Username, reg.Email = strings.TrimSpace(reg.Username), strings.TrimSpace(reg.Email)
	ipKey := "register:ip:" + m.IP
	// The slot is taken before any work (the hash above all), and given
	// back when the form is refused: nothing was created.
	res, err := s.limiter.Reserve(ctx, ratelimit.Limit{Key: ipKey, Rules: []ratelimit.Rule{RegisterLimit}})
	if err != nil {
		return nil, s.limited(err, "Too many accounts were created from your network. Try again in %s.")
	}
	refused := func(err error) (*Login, error) {
		if rerr := res.Release(ctx); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	fields := map[string]string{}
	switch {
	case reg.Username == "":
		fields[FieldUsername] = "Choose a username."
	case !ValidUsername(reg.Username):
		fields[FieldUsername] = "Use 1 to 50 letters, digits, '.', '_' or '-', starting and ending with a letter or a digit."
	default:
		if taken, err := s.usernameTaken(ctx, reg.Username); err != nil {
			return nil, err
		} else if taken {
			fields[FieldUsername] = "This username is already taken. Choose another one."
		}
	}
	if msg := checkEmail(reg.Email); msg != "" {
		fields[FieldEmail] = msg
	} else if taken, err := s.emailTaken(ctx, reg.Email); err != nil {
		return nil, err
	} else if taken {
		fields[FieldEmail] = "This email address is already used by another account."
	}
	checkNewPassword(fields, reg.Password, reg.PasswordConfirm, reg.Username, reg.Email)
	if len(fields) > 0 {
		return refused(invalidFields(fields))
	}
	hash, err := s.hasher.Hash(ctx, reg.Password)
	if err != nil {
		return nil, fmt.Errorf("account: register: %w", err)
	}
	now := s.now()
	u := &store.User{Username: reg.Username, Email: reg.Email, PasswordHash: hash, CreatedAt: now}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.AccountCreated},
			map[string]any{"username": u.Username, "email": u.Email})
	})
	if store.IsUniqueViolation(err) {
		// Someone else took the name or the address in the meantime.
		if taken, _ := s.usernameTaken(ctx, reg.Username); taken {
			fields[FieldUsername] = "This username is already taken. Choose another one."
		} else {
			fields[FieldEmail] = "This email address is already used by another account."
		}
		return refused(invalidFields(fields))
	} else if err != nil {
		return nil, fmt.Errorf("account: register %q: %w", reg.Username, err)
	}
	// A failed email is logged: the user can ask for another link from its
	// account page.
	_ = s.sendVerification(ctx, u, u.Email)
	cookie, sess, err := s.startSession(ctx, u, store.SessionActive, m)
	if err != nil {
		return nil, err
	}
	if err := s.signedIn(ctx, u, m); err != nil {
		return nil, err
	}
	return &Login{User: u, Cookie: cookie, Session: sess}, nil
}

func (s *Service) usernameTaken(ctx context.Context, name string) (bool, error) {
	_, err := s.store.UserByUsername(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *Service) emailTaken(ctx context.Context, email string) (bool, error) {
	_, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// PendingVerification describes the address a verification link is for.
type PendingVerification struct {
	Username string
	Email    string
	Verified bool // the account's address is already verified
}

// PeekVerification checks a verification link without using it, for the
// page that asks to confirm (a GET must not change anything: mail scanners
// open links).
func (s *Service) PeekVerification(ctx context.Context, token string) (*PendingVerification, error) {
	t, err := s.peekLink(ctx, token, store.PurposeVerifyEmail)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	if !sameEmail(u.Email, t.Email) {
		return nil, errEmailChanged
	}
	return &PendingVerification{Username: u.Username, Email: t.Email, Verified: u.EmailVerified}, nil
}

var errEmailChanged = &Error{Kind: NotFound,
	Msg: "This link was for an email address that is no longer the account's: it cannot verify the current one."}

// VerifyEmail uses a verification link: the account's address becomes
// verified, provided it is still the address the link was sent to.
func (s *Service) VerifyEmail(ctx context.Context, token string, m audit.Meta) (*store.User, error) {
	var u *store.User
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		t, err := s.takeLink(ctx, tx, token, store.PurposeVerifyEmail)
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if !sameEmail(u.Email, t.Email) {
			return errEmailChanged
		}
		if u.EmailVerified {
			return nil
		}
		if err := tx.SetEmail(ctx, u.ID, u.Email, true); err != nil {
			return err
		}
		u.EmailVerified = true
		return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.EmailVerified},
			map[string]any{"email": u.Email})
	})
	if err != nil {
		if KindOf(err) != 0 {
			return nil, err
		}
		return nil, fmt.Errorf("account: verify email: %w", err)
	}
	return u, nil
}

// ResendVerification emails the signed-in user a new verification link;
// links sent earlier stop working. Limited by ResendLimit.
func (s *Service) ResendVerification(ctx context.Context, c *Current, m audit.Meta) error {
	u := c.User
	if u.EmailVerified {
		return errorf(Invalid, "Your email address %s is already verified.", u.Email)
	}
	key := fmt.Sprintf("verify:user:%d", u.ID)
	if _, err := s.limiter.Reserve(ctx, ratelimit.Limit{Key: key, Rules: []ratelimit.Rule{ResendLimit}}); err != nil {
		return s.limited(err, "We already sent several links. Check your email (and its spam folder), or try again in %s.")
	}
	if err := s.store.DeleteAccountTokens(ctx, u.ID, store.PurposeVerifyEmail); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if err := s.sendVerification(ctx, u, u.Email); err != nil {
		return errorf(Invalid, "We could not send the email to %s. Try again later.", u.Email)
	}
	return nil
}
