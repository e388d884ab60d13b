package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/app"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/index"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// AdminCmd groups the administration commands.
type AdminCmd struct {
	User       AdminUserCmd       `cmd:"" help:"Manage accounts."`
	Token      AdminTokenCmd      `cmd:"" help:"Manage API tokens."`
	Names      AdminNamesCmd      `cmd:"" aliases:"name" help:"Manage prohibited project names."`
	Lookalike  AdminLookalikeCmd  `cmd:"" help:"Review the projects created under a look-alike of a protected name."`
	Blobs      AdminBlobsCmd      `cmd:"" help:"Manage stored files."`
	Critical   AdminCriticalCmd   `cmd:"" help:"Compute and list the critical projects."`
	Downloads  AdminDownloadsCmd  `cmd:"" help:"Import download counts from access logs."`
	Promo      AdminPromoCmd      `cmd:"" help:"Manage the promo codes of the security-key giveaway."`
	Stats      AdminStatsCmd      `cmd:"" help:"Record the public two-factor statistics."`
	Project    AdminProjectCmd    `cmd:"" help:"Quarantine projects and release them (PEP 792); make them private or public."`
	Reports    AdminReportsCmd    `cmd:"" help:"Users' reports of projects (malware, spam, typosquats): list them, dismiss them."`
	Publishers AdminPublishersCmd `cmd:"" aliases:"publisher" help:"Trusted publishers (CI that uploads with short-lived tokens): list them, remove one."`
	Upstream   AdminUpstreamCmd   `cmd:"" help:"Rules on the names of the upstream indexes (--upstream): allow, deny, local projects, break glasses of the minimum release age."`
	Import     AdminImportCmd     `cmd:"" help:"Import the distributions of another index: a folder (pypiserver) or a simple-API URL (pypiserver, devpi, a cheeseshop, a static mirror). Each file is checked as an upload is, under serve's flags (sizes, --strict-record, look-alikes, --upstream-local-names), except that an administrator imports: neither the two-factor mandate nor --release-upload-window applies, and a legacy sdist name the source published is kept (under its PEP 625 name) whatever --legacy-sdist-names says."`

	EmailDomains AdminEmailDomainsCmd `cmd:"" name:"email-domains" help:"Rules on the domains of new accounts' email addresses: refuse (disposable, prohibited), allow, import a list."`
}

// AdminUserCmd groups account commands.
type AdminUserCmd struct {
	Create  UserCreateCmd  `cmd:"" help:"Create an account. On a terminal, asks for its password twice (not shown); otherwise reads it from the first line of standard input. With --generate-password, or an empty line on standard input, makes a random one and prints it."`
	Disable UserDisableCmd `cmd:"" help:"Disable an account: its sessions end and its API tokens are refused at once."`
	Enable  UserEnableCmd  `cmd:"" help:"Re-enable a disabled account."`
}

// UserDisableCmd disables an account.
type UserDisableCmd struct {
	Username string `required:"" help:"Account name."`
}

// Run implements the command.
func (c *UserDisableCmd) Run(e *env) error { return setUserDisabled(e, c.Username, true) }

// UserEnableCmd re-enables an account.
type UserEnableCmd struct {
	Username string `required:"" help:"Account name."`
}

// Run implements the command.
func (c *UserEnableCmd) Run(e *env) error { return setUserDisabled(e, c.Username, false) }

// setUserDisabled disables or re-enables an account, recording the event
// as done from the command line.
func setUserDisabled(e *env, username string, disabled bool) error {
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	acct, err := account.New(e.ctx, st, auth.NewHasher(1, auth.Params{}), account.Config{}, e.log, nil)
	if err != nil {
		return err
	}
	defer acct.Close()
	u, err := acct.SetDisabled(e.ctx, nil, username, disabled, audit.Meta{IP: "", UserAgent: "cheeseshop admin"})
	if err != nil {
		return err
	}
	if disabled {
		fmt.Fprintf(e.stdout, "disabled user %s: its sessions ended, its API tokens are refused\n", u.Username)
	} else {
		fmt.Fprintf(e.stdout, "enabled user %s\n", u.Username)
	}
	return nil
}

// UserCreateCmd creates an account.
type UserCreateCmd struct {
	Username string `required:"" help:"Account name."`
	Email    string `required:"" help:"Email address."`
	Admin    bool   `help:"Make the account an administrator."`

	GeneratePassword bool `help:"Make a random password and print it, instead of asking for one on the terminal or reading it from standard input."`

	AllowAnyEmail bool `help:"Create the account even if the address's domain is disposable or prohibited (docs/SECURITY.md, Email addresses)."`
}

// Run implements the command.
func (c *UserCreateCmd) Run(e *env) error {
	if !validUsername(c.Username) {
		return fmt.Errorf("invalid username %q: use 1-50 ASCII letters, digits, '.', '_' or '-', starting and ending with a letter or digit", c.Username)
	}
	if msg := account.EmailProblem(c.Email); msg != "" {
		return fmt.Errorf("invalid email address %q: %s", c.Email, msg)
	}
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkNewEmail(e, st, c.Email, c.AllowAnyEmail); err != nil {
		return err
	}
	password, generated, err := c.password(e, st)
	if err != nil {
		return err
	}
	hash, err := auth.NewHasher(1, auth.Params{}).Hash(e.ctx, password)
	if err != nil {
		return err
	}
	u := &store.User{EmailVerified: true, Username: c.Username, Email: c.Email, PasswordHash: hash, IsAdmin: c.Admin, CreatedAt: time.Now().UTC()}
	if err := st.CreateUser(e.ctx, u); err != nil {
		if store.IsUniqueViolation(err) {
			if _, e := st.UserByEmail(e.ctx, c.Email); e == nil {
				return fmt.Errorf("the address %s is already the email of another user; give another --email", c.Email)
			}
			return fmt.Errorf("a user named %q already exists", c.Username)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "created user %s\n", u.Username)
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n", password)
	}
	return nil
}

func validUsername(s string) bool {
	if len(s) == 0 || len(s) > 50 {
		return false
	}
	return pep.ValidProjectName(s) // same alphabet and shape as PyPI usernames
}

// password is the new account's password: generated with
// --generate-password, asked twice on a terminal (once the name and the
// address are known to be free, so that nobody types it for nothing), or
// else read from the first line of standard input, where an empty line or
// none makes one too (scripts rely on both).
func (c *UserCreateCmd) password(e *env, st *store.Store) (password string, generated bool, err error) {
	if c.GeneratePassword {
		return auth.GeneratePassword(), true, nil
	}
	if e.terminal != nil {
		if _, err := st.UserByUsername(e.ctx, c.Username); err == nil {
			return "", false, fmt.Errorf("a user named %q already exists", c.Username)
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", false, err
		}
		if _, err := st.UserByEmail(e.ctx, c.Email); err == nil {
			return "", false, fmt.Errorf("the address %s is already the email of another user; give another --email", c.Email)
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", false, err
		}
		password, err := askNewPassword(e.ctx, e.terminal, e.stderr, c.Username, c.Email)
		return password, false, err
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return auth.GeneratePassword(), true, nil
	}
	password = strings.TrimRight(line, "\r\n")
	if password == "" {
		return auth.GeneratePassword(), true, nil
	}
	if len(password) < auth.MinPasswordLength {
		return "", false, fmt.Errorf("the password is too short: use at least %d characters", auth.MinPasswordLength)
	}
	return password, false, nil
}

// AdminTokenCmd groups token commands.
type AdminTokenCmd struct {
	Create TokenCreateCmd `cmd:"" help:"Create an API token and print it (only the token) on standard output."`
}

// TokenCreateCmd creates an API token.
type TokenCreateCmd struct {
	RuleFlags   `embed:""`
	NoticeFlags `embed:""`
	Username    string        `required:"" help:"Account the token acts for."`
	Project     []string      `help:"Limit the token to this project (repeatable). Default: all the user's projects."`
	Expires     time.Duration `help:"Lifetime of the token, e.g. 720h. Default: never expires."`
	Name        string        `default:"cli" help:"A name to tell tokens apart."`
	Manage      bool          `help:"Let the token also use the management API (yank, roles, invitations) on its projects. Default: upload only."`
	Read        bool          `help:"Make a read-only token: it reads the index (pip and uv installs from a private index) and never uploads or manages. With --project it reads only those projects, which need not be the user's. Default: upload only (upload tokens read too)."`
}

// Run implements the command. The token is recorded in the user's
// security history and the user is emailed, as for a token made in the
// web UI; the two-factor mandate of the projects applies.
func (c *TokenCreateCmd) Run(e *env) error {
	if c.Expires < 0 {
		return errors.New("--expires must be positive")
	}
	req := index.TokenRequest{Name: c.Name, Projects: c.Project, Manage: c.Manage, ReadOnly: c.Read}
	if c.Expires > 0 {
		at := time.Now().Add(c.Expires)
		req.Expires = &at
	}
	return withApp(e, &c.RuleFlags, c.NoticeFlags, false, func(a *app.App) error {
		nt, err := a.Index.AdminCreateToken(e.ctx, c.Username, audit.Meta{UserAgent: "cheeseshop admin"}, req)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, nt.Secret)
		return nil
	})
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
