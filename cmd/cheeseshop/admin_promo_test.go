package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestAdminPromoImport loads codes, again with duplicates, and a bad file.
func TestAdminPromoImport(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		args := withDB(t.TempDir(), storetest.URL(t, d))
		if code, _, errs := cli(t, "", args("migrate")...); code != 0 {
			t.Fatalf("migrate: %s", errs)
		}
		dir := t.TempDir()
		write := func(name, content string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		first := write("codes.csv", "code,vendor\nAAA-1,titan\nBBB-2,titan\n\nAAA-1,titan\nCCC-3,yubico\n")
		code, out, errs := cli(t, "", args("admin", "promo", "import", first)...)
		if code != 0 || out != first+": 3 codes imported, 1 duplicate refused\nstock: 3 codes, 0 claimed, 3 left\n" {
			t.Fatalf("import: %d %q %q", code, out, errs)
		}
		code, out, errs = cli(t, "code\nCCC-3\nDDD-4\n", args("admin", "promo", "import", "-")...)
		if code != 0 || out != "-: 1 code imported, 1 duplicate refused\nstock: 4 codes, 0 claimed, 4 left\n" {
			t.Fatalf("import from stdin: %d %q %q", code, out, errs)
		}
		bad := write("bad.csv", "serial\nEEE-5\n")
		code, out, errs = cli(t, "", args("admin", "promo", "import", bad)...)
		if code == 0 || !strings.Contains(errs, `names no "code" column`) || !strings.Contains(errs, "nothing imported") {
			t.Fatalf("bad file: %d %q %q", code, out, errs)
		}
		code, _, errs = cli(t, "", args("admin", "promo", "import", filepath.Join(dir, "missing.csv"))...)
		if code == 0 || !strings.Contains(errs, "nothing imported") {
			t.Fatalf("missing file: %d %q", code, errs)
		}
		code, out, _ = cli(t, "", args("admin", "promo", "stock")...)
		if code != 0 || out != "stock: 4 codes, 0 claimed, 4 left\n" {
			t.Fatalf("stock: %d %q", code, out)
		}
	})
}

func TestPromoFlags(t *testing.T) {
	t.Parallel()
	f := PromoFlags{PromoEnd: "2030-06-30", PromoCountries: []string{"France", "Japan"}}
	cfg, err := f.config("https://index.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.End.Equal(time.Date(2030, 7, 1, 0, 0, 0, 0, time.UTC)) || len(cfg.Countries) != 2 {
		t.Errorf("config %+v", cfg)
	}
	if _, err := (&PromoFlags{PromoEnd: "30/06/2030"}).config("", nil); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Errorf("a bad end date: %v", err)
	}
	if cfg, _ := (&PromoFlags{}).config("", nil); !cfg.End.IsZero() {
		t.Errorf("no end date: %v", cfg.End)
	}
}
