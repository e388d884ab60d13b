package account

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
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
	// RegisterNoticeLimit bounds the notices sent to the owner of an
	// address that someone tries to register again.
	RegisterNoticeLimit = ratelimit.Rule{Max: 3, Window: time.Hour}
	// EmailChangeLimit bounds the new addresses a user may try in its
	// email change (each tells whether an address is registered).
	EmailChangeLimit = ratelimit.Rule{Max: 10, Window: time.Hour}
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

// EmailProblem returns what is wrong with an address, or "": it must be
// one plain address (no display name, no list, no quotes, comments or IP
// literals), as net/mail parses it, of printable characters only, whose
// part before the @ holds no % or ! (the percent hack and bang paths,
// which some mail servers still follow to another domain than the one
// checked and stored). Every address given to an account goes through it:
// the web forms here, and admin user create.
func EmailProblem(email string) string {
	if email == "" {
		return "Enter your email address."
	}
	if len(email) > MaxEmailLength {
		return fmt.Sprintf("This email address is too long (at most %d characters).", MaxEmailLength)
	}
	if !utf8.ValidString(email) || strings.IndexFunc(email, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "This email address holds invisible or control characters: type it again."
	}
	a, err := netmail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || strings.ContainsAny(email, "\r\n\t <>,;\"[]") ||
		!strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "This is not a valid email address: enter one address, like name@example.org."
	}
	if strings.ContainsAny(email[:strings.LastIndexByte(email, '@')], "%!") {
		return "Use an address without % or ! before the @: some mail servers send such addresses to another domain."
	}
	return ""
}

// emailRefusal returns why Config.CheckEmail refuses an address ("" when
// it accepts it), or an error when it could not decide.
func (s *Service) emailRefusal(ctx context.Context, email string) (string, error) {
	if s.cfg.CheckEmail == nil {
		return "", nil
	}
	err := s.cfg.CheckEmail(ctx, email)
	if pe, ok := problem.As(err); ok && pe.Kind == problem.Invalid {
		return pe.Message, nil
	} else if err != nil {
		return "", fmt.Errorf("account: check email: %w", err)
	}
	return "", nil
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
	return &problem.Error{Kind: problem.Invalid, Message: "Correct the fields marked below.", Fields: fields}
}

// Registration is what a person fills in to create an account.
type Registration struct {
	Username        string
	Email           string
	Password        string
	PasswordConfirm string
}

// Register takes a registration. Field errors are reported at once in
// Error.Fields, as PyPI does (a taken username among them: usernames are
// public). An acceptable form is answered nil, the same whether or not
// its email address already belongs to an account, so that registering
// tells nobody which addresses are registered; the rest happens after the
// answer (finishRegistration): a new account with an unverified address
// and a verification link mailed to it or, for an address already
// registered, a notice to its owner. The person registering is not
// signed in: it logs in once the account exists (with the link's page).
// Registrations per IP address are limited by RegisterLimit, reserved
// before any work and given back when the form is refused. The address's
// domain is checked (Config.CheckEmail) here, before the answer and for
// every address alike, so that a refusal says nothing of whether the
// address is registered.
func (s *Service) Register(ctx context.Context, reg Registration, m audit.Meta) error {
	reg.Username, reg.Email = strings.TrimSpace(reg.Username), strings.TrimSpace(reg.Email)
	ipKey := "register:ip:" + ratelimit.ClientKey(m.IP)
	res, err := s.limiter.Reserve(ctx, ratelimit.Limit{Key: ipKey, Rules: []ratelimit.Rule{RegisterLimit}})
	if err != nil {
		return s.limited(err, "Too many accounts were created from your network. Try again in %s.")
	}
	fields := map[string]string{}
	switch {
	case reg.Username == "":
		fields[FieldUsername] = "Choose a username."
	case !ValidUsername(reg.Username):
		fields[FieldUsername] = "Use 1 to 50 letters, digits, '.', '_' or '-', starting and ending with a letter or a digit."
	default:
		if taken, err := s.usernameTaken(ctx, reg.Username); err != nil {
			return err
		} else if taken {
			fields[FieldUsername] = usernameTakenMsg
		}
	}
	if msg := EmailProblem(reg.Email); msg != "" {
		fields[FieldEmail] = msg
	} else if msg, err := s.emailRefusal(ctx, reg.Email); err != nil {
		return errors.Join(err, res.Release(ctx))
	} else if msg != "" {
		fields[FieldEmail] = msg
	}
	checkNewPassword(fields, reg.Password, reg.PasswordConfirm, reg.Username, reg.Email)
	if len(fields) > 0 {
		// Nothing was created or sent: the attempt does not count.
		return errors.Join(invalidFields(fields), res.Release(ctx))
	}
	// Hashed before the answer, so that the queued job never holds the
	// password.
	hash, err := s.hasher.Hash(ctx, reg.Password)
	if err != nil {
		return fmt.Errorf("account: register: %w", err)
	}
	return s.later(ctx, "registration", func(ctx context.Context) error {
		return s.finishRegistration(ctx, reg.Username, reg.Email, hash, m)
	})
}

const usernameTakenMsg = "This username is already taken. Choose another one."

// finishRegistration creates the account of an accepted registration and
// mails its verification link; when the address already belongs to an
// account, it tells that account's owner instead.
func (s *Service) finishRegistration(ctx context.Context, username, email, hash string, m audit.Meta) error {
	if owner, err := s.store.UserByEmail(ctx, email); err == nil {
		return s.registrationOfTakenEmail(ctx, owner, username, m)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("account: register: %w", err)
	}
	now := s.now()
	u := &store.User{Username: username, Email: email, PasswordHash: hash, CreatedAt: now}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.AccountCreated},
			map[string]any{"username": u.Username, "email": u.Email})
	})
	if store.IsUniqueViolation(err) {
		// Someone else took the name or the address in the meantime.
		if owner, err := s.store.UserByEmail(ctx, email); err == nil {
			return s.registrationOfTakenEmail(ctx, owner, username, m)
		}
		return s.mail.Send(ctx, email, "register-username-taken", mail.Data{"Username": username})
	} else if err != nil {
		return fmt.Errorf("account: register %q: %w", username, err)
	}
	// A failed email is logged: the user can ask for another link from its
	// account page.
	return s.sendVerification(ctx, u, u.Email)
}

// registrationOfTakenEmail tells the owner of an address that someone
// tried to register a new account with it (at most RegisterNoticeLimit a
// user, silently beyond), and records it on the owner's history.
func (s *Service) registrationOfTakenEmail(ctx context.Context, owner *store.User, username string, m audit.Meta) error {
	key := fmt.Sprintf("register:user:%d", owner.ID)
	if ok, err := s.limiter.Allow(ctx, ratelimit.Limit{Key: key, Rules: []ratelimit.Rule{RegisterNoticeLimit}}); err != nil {
		return err
	} else if !ok {
		s.log.InfoContext(ctx, "registration notice not sent: too many", "user", owner.Username, "ip", m.IP)
		return nil
	}
	if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: owner.ID, Tag: audit.RegisterEmailTaken},
		map[string]any{"username": username}); err != nil {
		return err
	}
	return s.mail.Send(ctx, owner.Email, "register-email-taken",
		mail.Data{"Owner": owner.Username, "Username": username, "IP": m.IP})
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

var errEmailChanged = &problem.Error{Kind: problem.NotFound,
	Message: "This link was for an email address that is no longer the account's: it cannot verify the current one."}

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
		if problem.KindOf(err) != 0 {
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
		return problem.Errorf(problem.Invalid, "Your email address %s is already verified.", u.Email)
	}
	key := fmt.Sprintf("verify:user:%d", u.ID)
	if _, err := s.limiter.Reserve(ctx, ratelimit.Limit{Key: key, Rules: []ratelimit.Rule{ResendLimit}}); err != nil {
		return s.limited(err, "We already sent several links. Check your email (and its spam folder), or try again in %s.")
	}
	if err := s.store.DeleteAccountTokens(ctx, u.ID, store.PurposeVerifyEmail); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if err := s.sendVerification(ctx, u, u.Email); err != nil {
		return problem.Errorf(problem.Invalid, "We could not send the email to %s. Try again later.", u.Email)
	}
	return nil
}
