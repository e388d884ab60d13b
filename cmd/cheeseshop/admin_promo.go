package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"cheeseshop/internal/mail"
	"cheeseshop/internal/promo"
	"cheeseshop/internal/store"
)

// AdminPromoCmd groups the commands of the security-key giveaway.
type AdminPromoCmd struct {
	Import PromoImportCmd `cmd:"" help:"Load promo codes (each good for two security keys) from a CSV file whose header row names a \"code\" column; codes already in the stock or repeated in the file are refused and counted."`
	Stock  PromoStockCmd  `cmd:"" help:"Show the stock of promo codes: total, claimed, left, claims per country."`
}

// PromoImportCmd loads codes into the stock.
type PromoImportCmd struct {
	File string `arg:"" name:"file" help:"CSV file of codes (\"-\": standard input)."`
}

// Run implements the command.
func (c *PromoImportCmd) Run(e *env) error {
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	var r io.Reader = e.stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return fmt.Errorf("%w; nothing imported", err)
		}
		defer f.Close()
		r = f
	}
	svc, err := promo.New(st, promo.Config{}, e.log, nil)
	if err != nil {
		return err
	}
	res, err := svc.Import(e.ctx, r)
	if err != nil {
		return fmt.Errorf("%s: %w; nothing imported (an import is all or nothing: fix the file and run the command again)", c.File, err)
	}
	fmt.Fprintf(e.stdout, "%s: %d code%s imported, %d duplicate%s refused\n", c.File, res.Imported, promoPlural(res.Imported), res.Duplicates, promoPlural(res.Duplicates))
	return writePromoStock(e, st)
}

// PromoStockCmd prints the stock.
type PromoStockCmd struct{}

// Run implements the command.
func (c *PromoStockCmd) Run(e *env) error {
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	return writePromoStock(e, st)
}

func writePromoStock(e *env, st *store.Store) error {
	svc, err := promo.New(st, promo.Config{}, e.log, nil)
	if err != nil {
		return err
	}
	s, err := svc.Stock(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "stock: %d codes, %d claimed, %d left\n", s.Total, s.Claimed, s.Left())
	for _, c := range s.ByCountry {
		fmt.Fprintf(e.stdout, "  %s: %d\n", c.Country, c.Claims)
	}
	return nil
}

func promoPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// PromoFlags are the giveaway's settings of serve.
type PromoFlags struct {
	PromoEnd            string        `help:"Last day (YYYY-MM-DD, UTC) on which promo codes can be claimed; empty: the giveaway does not end."`
	PromoCountries      []string      `default:"Austria,Belgium,Canada,France,Germany,Italy,Japan,Spain,Switzerland,United Kingdom,United States" help:"Shipping countries eligible for the security-key giveaway (comma-separated)."`
	PromoAllowKeyOwners bool          `help:"Let users who already own a security key claim a promo code."`
	PromoMinRoleAge     time.Duration `default:"720h" help:"How long a user must have held its role on a critical project before it may claim a promo code (720h: 30 days), so that accounts an Owner invites today cannot claim; 0: no minimum."`
	PromoPerProject     int           `default:"10" help:"The most promo codes claimed through one critical project, so that one Owner cannot farm codes with accounts it invites; 0: no limit."`
}

// config turns the flags into the giveaway's settings.
func (f *PromoFlags) config(base string, mailer mail.Mailer) (promo.Config, error) {
	cfg := promo.Config{Countries: f.PromoCountries, AllowKeyOwners: f.PromoAllowKeyOwners, MinRoleAge: f.PromoMinRoleAge,
		PerProject: f.PromoPerProject, BaseURL: base, Mailer: mailer}
	if s := strings.TrimSpace(f.PromoEnd); s != "" {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return cfg, fmt.Errorf("--promo-end %q: write the last day of the giveaway as YYYY-MM-DD", f.PromoEnd)
		}
		cfg.End = d.AddDate(0, 0, 1) // the giveaway lasts through the last day
	}
	return cfg, nil
}
