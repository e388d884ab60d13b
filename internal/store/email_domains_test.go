package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestEmailDomains: the operators' rules put (replacing), added (never
// replacing), found among a domain's parents, listed, deleted.
func TestEmailDomains(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		admin := &store.User{Username: "root", Email: "root@example.org", PasswordHash: "x", CreatedAt: at}
		storetest.Must(t, s.CreateUser(ctx, admin))
		storetest.Must(t, s.PutEmailDomain(ctx, store.EmailDomain{Domain: "example.com", Kind: store.EmailDomainProhibited,
			Reason: "ours", CreatedBy: admin.ID, CreatedAt: at}))
		storetest.Must(t, s.PutEmailDomain(ctx, store.EmailDomain{Domain: "a.example.com", Kind: store.EmailDomainDisposable, CreatedAt: at}))
		// Put replaces, Add does not.
		storetest.Must(t, s.PutEmailDomain(ctx, store.EmailDomain{Domain: "a.example.com", Kind: store.EmailDomainAllowed, Reason: "partner", CreatedAt: at}))
		if added, err := s.AddEmailDomain(ctx, store.EmailDomain{Domain: "a.example.com", Kind: store.EmailDomainDisposable, CreatedAt: at}); err != nil || added {
			t.Fatalf("AddEmailDomain over a rule = %v, %v", added, err)
		}
		if added, err := s.AddEmailDomain(ctx, store.EmailDomain{Domain: "throw.example", Kind: store.EmailDomainDisposable, CreatedAt: at}); err != nil || !added {
			t.Fatalf("AddEmailDomain = %v, %v", added, err)
		}

		among, err := s.EmailDomainsAmong(ctx, []string{"x.a.example.com", "a.example.com", "example.com", "com"})
		storetest.Must(t, err)
		var got []string
		for _, d := range among {
			got = append(got, d.Domain+"="+d.Kind+":"+d.Reason)
		}
		slices.Sort(got)
		if strings.Join(got, " ") != "a.example.com=allowed:partner example.com=prohibited:ours" {
			t.Fatalf("among: %q", got)
		}
		if none, err := s.EmailDomainsAmong(ctx, nil); err != nil || len(none) != 0 {
			t.Fatalf("among nothing: %v, %v", none, err)
		}
		d, err := s.EmailDomain(ctx, "example.com")
		if err != nil || d.CreatedBy != admin.ID || !d.CreatedAt.Equal(at) {
			t.Fatalf("EmailDomain = %+v, %v", d, err)
		}
		if _, err := s.EmailDomain(ctx, "nothing.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("EmailDomain of nothing: %v", err)
		}

		storetest.Must(t, s.DeleteEmailDomain(ctx, "example.com"))
		if err := s.DeleteEmailDomain(ctx, "example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted twice: %v", err)
		}
		all, err := s.EmailDomains(ctx)
		storetest.Must(t, err)
		if len(all) != 2 || all[0].Domain != "a.example.com" || all[1].Domain != "throw.example" || all[1].CreatedBy != 0 {
			t.Fatalf("all: %+v", all)
		}
	})
}
