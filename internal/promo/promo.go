// Package promo runs the security-key giveaway: administrators load promo
// codes (each good for two security keys) into a stock, and the owners and
// maintainers of critical projects claim one each, atomically, while the
// giveaway lasts and for the eligible shipping countries. No HTTP.
//
// The giveaway is worth gaming: an Owner of a critical project could
// invite puppet accounts as Maintainers, have each claim a code, and
// remove them again. So a claim needs a verified email address and a role
// on a critical project held for a minimum time (Config.MinRoleAge), and
// an operator can cap the claims made through each critical project
// (Config.PerProject).
package promo

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
)

// DefaultCountries are the shipping countries eligible by default.
var DefaultCountries = []string{"Austria", "Belgium", "Canada", "France", "Germany", "Italy", "Japan", "Spain",
	"Switzerland", "United Kingdom", "United States"}

// KeysPerCode is how many security keys one code pays for.
const KeysPerCode = 2

// Config is the giveaway's settings.
type Config struct {
	// End is when the giveaway ends (zero: it does not).
	End time.Time
	// Countries are the eligible shipping countries (nil: DefaultCountries).
	Countries []string
	// AllowKeyOwners lets users who already own a security key claim.
	AllowKeyOwners bool
	// MinRoleAge is how long a user must have held its role on a critical
	// project before it may claim through it (0: no minimum). An Owner's
	// puppets invited today must wait as long as anybody else.
	MinRoleAge time.Duration
	// PerProject is the most codes claimed through one critical project
	// (0: no limit), so that one Owner cannot farm codes with accounts it
	// invites. A user with roles on several critical projects claims
	// through one that has room.
	PerProject int
	// BaseURL is the public URL of the index, without a trailing slash.
	BaseURL string
	// Mailer tells a user of its claim (without the code); nil: no email.
	Mailer mail.Mailer
}

// Reason says why a user may not claim a code.
type Reason string

// The reasons, in the order they are checked.
const (
	Claimed      Reason = "claimed"          // it holds a code already (Status.Code)
	NotCritical  Reason = "not-critical"     // it is no owner or maintainer of a critical project
	Ended        Reason = "ended"            // the giveaway has ended
	Unverified   Reason = "unverified-email" // its email address is not verified
	RoleTooNew   Reason = "role-too-new"     // it has held its roles on critical projects for less than MinRoleAge (Status.From)
	ProjectLimit Reason = "project-limit"    // its critical projects had their PerProject codes claimed
	OwnsKey      Reason = "owns-key"         // it has a security key, and key owners may not claim
	NoStock      Reason = "no-stock"         // no code is left
	Country      Reason = "country"          // its shipping country is not eligible
)

// Status is a user's eligibility.
type Status struct {
	// Reason is why the user may not claim ("": it may, or may once it
	// names an eligible country).
	Reason Reason
	// Message says Reason to the user.
	Message string
	// Code is the user's code when Reason is Claimed.
	Code *store.PromoCode
	// Projects are the user's critical projects.
	Projects []string
	// From is when the user may claim, when Reason is RoleTooNew.
	From time.Time

	// through is the critical project a claim counts for (its id and
	// name), when the user may claim.
	through     int64
	throughName string
}

// Eligible reports whether the user may claim.
func (s *Status) Eligible() bool { return s.Reason == "" }

// Error returns the reason's name: a Reason is the cause of a refused
// claim, so that errors.Is(err, NoStock) tells why.
func (r Reason) Error() string { return "promo: " + string(r) }

// refuse returns a refused claim: a *problem.Error whose cause is the
// reason. Taken codes (none left, one held already, the projects' share
// used) are conflicts with the state of the giveaway; a country is an
// invalid choice; every other reason forbids the claim.
func refuse(reason Reason, msg string) error {
	kind := problem.Forbidden
	switch reason {
	case Country:
		kind = problem.Invalid
	case NoStock, Claimed, ProjectLimit:
		kind = problem.Conflict
	}
	return problem.Wrap(reason, kind, msg)
}

// Service is the giveaway. It is safe for concurrent use.
type Service struct {
	store *store.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	mail  *mail.Sender // the user's emails, through cfg.Mailer
}

// New returns a Service; now is the clock (nil: the system's).
func New(st *store.Store, cfg Config, log *slog.Logger, now func() time.Time) (*Service, error) {
	if cfg.Countries == nil {
		cfg.Countries = DefaultCountries
	}
	seen := map[string]bool{}
	var countries []string
	for _, c := range cfg.Countries {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if strings.EqualFold(c, "other") {
			return nil, fmt.Errorf("promo: %q cannot be an eligible country", c)
		}
		if seen[strings.ToLower(c)] {
			continue
		}
		seen[strings.ToLower(c)] = true
		countries = append(countries, c)
	}
	if len(countries) == 0 {
		return nil, errors.New("promo: name at least one eligible country")
	}
	cfg.Countries = countries
	if cfg.MinRoleAge < 0 {
		return nil, fmt.Errorf("promo: the minimum age of a role cannot be negative (%s)", cfg.MinRoleAge)
	}
	if cfg.PerProject < 0 {
		return nil, fmt.Errorf("promo: the claims per project cannot be negative (%d); 0 means no limit", cfg.PerProject)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, cfg: cfg, log: log, now: func() time.Time { return now().UTC() },
		mail: &mail.Sender{Mailer: cfg.Mailer, BaseURL: cfg.BaseURL, Log: log}}, nil
}

// Config returns the settings.
func (s *Service) Config() Config { return s.cfg }

// EligibleCountry returns the eligible country named by name (any case),
// or "" when it is not in the list.
func (s *Service) EligibleCountry(name string) string {
	name = strings.TrimSpace(name)
	for _, c := range s.cfg.Countries {
		if strings.EqualFold(c, name) {
			return c
		}
	}
	return ""
}

// Eligibility tells whether the user may claim a code for shipping to
// country; an empty country is not checked (the user has not named one
// yet).
func (s *Service) Eligibility(ctx context.Context, u *store.User, country string) (*Status, error) {
	return s.eligibility(ctx, s.store, u, country)
}

// querier is what eligibility reads: the store or a transaction.
type querier interface {
	UserByID(ctx context.Context, id int64) (*store.User, error)
	PromoCodeOf(ctx context.Context, userID int64) (*store.PromoCode, error)
	PromoRolesOf(ctx context.Context, userID int64) ([]store.PromoRole, error)
	TwoFactorMethods(ctx context.Context, userID int64) (bool, int, error)
	PromoUnclaimed(ctx context.Context) (bool, error)
}

func (s *Service) eligibility(ctx context.Context, q querier, u *store.User, country string) (*Status, error) {
	st := &Status{}
	code, err := q.PromoCodeOf(ctx, u.ID)
	switch {
	case err == nil:
		st.Reason, st.Code = Claimed, code
		st.Message = "You have claimed your code already."
		return st, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("promo: %w", err)
	}
	roles, err := q.PromoRolesOf(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("promo: %w", err)
	}
	for _, r := range roles {
		st.Projects = append(st.Projects, r.Project)
	}
	if len(st.Projects) == 0 {
		st.Reason = NotCritical
		st.Message = "The giveaway is for the owners and maintainers of critical projects, and you hold no role on one."
		return st, nil
	}
	now := s.now()
	if !s.cfg.End.IsZero() && !now.Before(s.cfg.End) {
		st.Reason = Ended
		st.Message = "The giveaway ended on " + s.cfg.End.Add(-time.Nanosecond).Format("January 2, 2006") + "."
		return st, nil
	}
	// The user as it is now, not as the caller loaded it: an email
	// address changed since is not verified.
	fresh, err := q.UserByID(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("promo: %w", err)
	}
	if !fresh.EmailVerified {
		st.Reason = Unverified
		st.Message = "Verify your email address (" + fresh.Email + ") first: follow the link sent to it, or ask for a new one on your account page."
		return st, nil
	}
	// Roles held long enough, then those of projects with codes left.
	var seasoned []store.PromoRole
	for _, r := range roles {
		if from := r.Since.Add(s.cfg.MinRoleAge); now.Before(from) {
			if st.From.IsZero() || from.Before(st.From) {
				st.From = from
			}
			continue
		}
		seasoned = append(seasoned, r)
	}
	if len(seasoned) == 0 {
		st.Reason = RoleTooNew
		st.Message = fmt.Sprintf("The giveaway is for those who have held their role on a critical project for at least %s: "+
			"yours is newer, and you can claim from %s (UTC).",
			words.Duration(s.cfg.MinRoleAge), st.From.Format("January 2, 2006, 15:04"))
		return st, nil
	}
	st.From = time.Time{}
	for _, r := range seasoned {
		if s.cfg.PerProject <= 0 || r.Claims < int64(s.cfg.PerProject) {
			st.through, st.throughName = r.ProjectID, r.Project
			break
		}
	}
	if st.through == 0 {
		names := make([]string, len(seasoned))
		for i, r := range seasoned {
			names[i] = r.Project
		}
		st.Reason = ProjectLimit
		st.Message = fmt.Sprintf("At most %d codes are given through each critical project, and those of %s have been claimed: "+
			"ask the administrators of this index if you need one.", s.cfg.PerProject, strings.Join(names, ", "))
		return st, nil
	}
	if !s.cfg.AllowKeyOwners {
		_, keys, err := q.TwoFactorMethods(ctx, u.ID)
		if err != nil {
			return nil, fmt.Errorf("promo: %w", err)
		}
		if keys > 0 {
			st.Reason = OwnsKey
			st.Message = "You already have a security key: the codes are kept for those who have none."
			return st, nil
		}
	}
	left, err := q.PromoUnclaimed(ctx)
	if err != nil {
		return nil, fmt.Errorf("promo: %w", err)
	}
	if !left {
		st.Reason = NoStock
		st.Message = "No codes are left: every code has been claimed."
		return st, nil
	}
	if country != "" && s.EligibleCountry(country) == "" {
		st.Reason = Country
		st.Message = "The keys can only be shipped to " + strings.Join(s.cfg.Countries, ", ") + "."
		return st, nil
	}
	return st, nil
}

// Claim assigns the user one code for shipping to country and records the
// claim as a security event, in one transaction; it returns the code. A
// refusal is a *problem.Error whose cause is its Reason (NoStock when concurrent claims took the
// last codes).
func (s *Service) Claim(ctx context.Context, u *store.User, country string, m audit.Meta) (*store.PromoCode, error) {
	name := s.EligibleCountry(country)
	if name == "" {
		if strings.TrimSpace(country) == "" {
			return nil, refuse(Country, "Choose the country the keys are to be shipped to.")
		}
		name = strings.TrimSpace(country) // eligibility explains the refusal
	}
	var code *store.PromoCode
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		// Lock the user's critical projects (in one order: no deadlock)
		// before counting their claims, so that concurrent claims through
		// one project cannot both take its last place.
		roles, err := tx.PromoRolesOf(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("promo: %w", err)
		}
		ids := make([]int64, len(roles))
		for i, r := range roles {
			ids[i] = r.ProjectID
		}
		slices.Sort(ids)
		for _, id := range ids {
			if err := tx.LockProject(ctx, id); err != nil {
				return fmt.Errorf("promo: %w", err)
			}
		}
		st, err := s.eligibility(ctx, tx, u, name)
		if err != nil {
			return err
		}
		if !st.Eligible() {
			return refuse(st.Reason, st.Message)
		}
		now := s.now()
		code, err = tx.ClaimPromoCode(ctx, u.ID, st.through, name, now)
		switch {
		case errors.Is(err, store.ErrNoPromoCode):
			return refuse(NoStock, "No codes are left: every code has been claimed.")
		case errors.Is(err, store.ErrPromoClaimed):
			return refuse(Claimed, "You have claimed your code already.")
		case err != nil:
			return fmt.Errorf("promo: %w", err)
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.PromoClaimed},
			map[string]any{"country": name, "project": st.throughName})
	})
	if err != nil {
		return nil, err
	}
	s.notify(ctx, u, code)
	return code, nil
}

// notify emails the user that it claimed a code (the code stays on the
// page: email is no place for it). A failure is logged.
func (s *Service) notify(ctx context.Context, u *store.User, c *store.PromoCode) {
	if u.Email == "" {
		return
	}
	_ = s.mail.Send(ctx, u.Email, "giveaway-claimed", mail.Data{"Username": u.Username, "Keys": KeysPerCode, "Country": c.Country})
}

// ImportResult is what Import did.
type ImportResult struct {
	// Imported codes are new in the stock.
	Imported int
	// Duplicates were refused: repeated in the file, or already in the
	// stock.
	Duplicates int
	// Blank rows skipped (every field empty; empty lines are not counted).
	Blank int
}

// Import reads a CSV file of codes (a header row naming a "code" column;
// other columns are ignored) into the stock, in one transaction: a bad
// file imports nothing.
func (s *Service) Import(ctx context.Context, r io.Reader) (*ImportResult, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("promo: the file is empty: it needs a header row naming a \"code\" column")
	}
	if err != nil {
		return nil, fmt.Errorf("promo: read the header row: %w", err)
	}
	col := -1
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if strings.EqualFold(h, "code") {
			col = i
			break
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("promo: the header row (%s) names no \"code\" column", strings.Join(header, ","))
	}
	res := &ImportResult{}
	var codes []string
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("promo: %w", err)
		}
		line, _ := cr.FieldPos(0)
		var code string
		if col < len(rec) {
			code = strings.TrimSpace(rec[col])
		}
		if code == "" {
			if strings.TrimSpace(strings.Join(rec, "")) == "" {
				res.Blank++
				continue
			}
			return nil, fmt.Errorf("promo: line %d has no code", line)
		}
		if len(code) > 200 || strings.ContainsFunc(code, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, fmt.Errorf("promo: line %d: %q is not a code", line, code)
		}
		if seen[code] {
			res.Duplicates++
			continue
		}
		seen[code] = true
		codes = append(codes, code)
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		for _, c := range codes {
			added, err := tx.InsertPromoCode(ctx, c, now)
			if err != nil {
				return fmt.Errorf("promo: %w", err)
			}
			if added {
				res.Imported++
			} else {
				res.Duplicates++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Stock counts the codes, for administrators.
type Stock struct {
	store.PromoStock
	ByCountry []store.CountryClaims
}

// Stock returns the counts of the stock and the claims per country.
func (s *Service) Stock(ctx context.Context) (*Stock, error) {
	var out Stock
	var err error
	if out.PromoStock, err = s.store.PromoStockCounts(ctx); err != nil {
		return nil, fmt.Errorf("promo: %w", err)
	}
	if out.ByCountry, err = s.store.PromoClaimsByCountry(ctx); err != nil {
		return nil, fmt.Errorf("promo: %w", err)
	}
	return &out, nil
}
