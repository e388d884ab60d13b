package maillink

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestLinkLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		u := &store.User{Username: "alice", Email: "alice@example.org", PasswordHash: "!", CreatedAt: time.Now()}
		storetest.Must(t, st.CreateUser(ctx, u))
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		link, err := New(ctx, st, &store.AccountToken{UserID: u.ID, Purpose: "verify", Email: u.Email}, now, time.Hour, "https://example.org/verify/")
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := url.Parse(link)
		if err != nil || !strings.HasPrefix(link, "https://example.org/verify/?token=") {
			t.Fatalf("link %q", link)
		}
		secret := parsed.Query().Get("token")
		peek := func(hash string) (*store.AccountToken, error) { return st.PeekAccountToken(ctx, hash, "verify") }
		take := func(hash string) (*store.AccountToken, error) { return st.TakeAccountToken(ctx, hash, "verify") }

		for _, tc := range []struct {
			name   string
			secret string
			at     time.Time
			find   func(string) (*store.AccountToken, error)
			want   error
		}{
			{"empty", "", now, peek, ErrUnknown},
			{"too long", strings.Repeat("a", maxSecret+1), now, peek, ErrUnknown},
			{"someone else's", "not" + secret, now, peek, ErrUnknown},
			{"another purpose", secret, now, func(h string) (*store.AccountToken, error) { return st.PeekAccountToken(ctx, h, "reset") }, ErrUnknown},
			{"expired", secret, now.Add(time.Hour), peek, ErrExpired},
			{"peeked", secret, now.Add(time.Hour - time.Second), peek, nil},
			{"taken", secret, now, take, nil},
			{"taken twice", secret, now, take, ErrUnknown},
		} {
			tok, err := Find(tc.secret, tc.at, tc.find)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s: Find = %v, want %v", tc.name, err, tc.want)
			}
			if err == nil && (tok.UserID != u.ID || tok.Email != u.Email) {
				t.Fatalf("%s: token %+v, want alice's", tc.name, tok)
			}
		}
	})
}
