package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// raceRounds is how many times each race of TestLastMethodRace is run.
const raceRounds = 50

// TestLastMethodRace is the attack on the "cannot remove your last
// method" guard of a user bound by the mandate: two removals sent at the
// same moment (the app and the only key, or two keys), each of which
// alone is allowed because another method is left. Whatever the
// interleaving, at least one method must remain, and the other request
// is refused as the removal of the last method.
func TestLastMethodRace(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		u := s.userWithPassword("bound", managePassword)
		s.uploadDist(s.token(u), disttest.Dist{Name: "crit", Version: "1.0"}, false)
		proj, err := s.st.ProjectByName(ctx, "crit")
		storetest.Must(t, err)
		storetest.Must(t, s.st.MarkCritical(ctx, proj.ID, time.Now().Add(-time.Hour)))
		b := s.browser(t)
		b.login("bound", managePassword) // no second factor yet: no second step
		b.get("/manage/account/")

		n := 0
		addKey := func() int64 {
			n++
			k := &store.SecurityKey{UserID: u.ID, Label: fmt.Sprintf("key %d", n), CredentialID: fmt.Sprintf("cred-%d", n),
				PublicKey: fmt.Sprintf("pk-%d", n), Credential: "{}", CreatedAt: time.Now()}
			storetest.Must(t, s.st.AddSecurityKey(ctx, k))
			return k.ID
		}
		post := func(path string) (int, error) {
			form := url.Values{"csrf_token": {b.csrf}}
			req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
			if err != nil {
				return 0, err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := b.client.Do(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		for _, race := range []struct {
			name  string
			setup func() []string // the two removals
		}{
			{"app and only key", func() []string {
				storetest.Must(t, s.st.SetTOTP(ctx, u.ID, "sealed", 0, time.Now()))
				return []string{"/manage/account/totp/remove", fmt.Sprintf("/manage/account/webauthn/%d/remove", addKey())}
			}},
			{"two keys", func() []string {
				return []string{fmt.Sprintf("/manage/account/webauthn/%d/remove", addKey()), fmt.Sprintf("/manage/account/webauthn/%d/remove", addKey())}
			}},
		} {
			t.Run(race.name, func(t *testing.T) {
				for round := range raceRounds {
					// Start from no method at all, then exactly the two.
					storetest.Must(t, s.st.RemoveTOTP(ctx, u.ID))
					keys, err := s.st.SecurityKeys(ctx, u.ID)
					storetest.Must(t, err)
					for _, k := range keys {
						storetest.Must(t, s.st.DeleteSecurityKey(ctx, u.ID, k.ID))
					}
					paths := race.setup()
					start := make(chan struct{})
					var wg sync.WaitGroup
					statuses := make([]int, len(paths))
					errs := make([]error, len(paths))
					for i, p := range paths {
						wg.Go(func() {
							<-start
							statuses[i], errs[i] = post(p)
						})
					}
					close(start)
					wg.Wait()
					for _, err := range errs {
						storetest.Must(t, err)
					}
					totp, nkeys, err := s.st.TwoFactorMethods(ctx, u.ID)
					storetest.Must(t, err)
					if !totp && nkeys == 0 {
						t.Fatalf("round %d: both removals went through (%v): the bound user has no second factor left", round, statuses)
					}
					if left := nkeys + map[bool]int{true: 1}[totp]; left != 1 {
						t.Fatalf("round %d: %d methods left (%v), want one of the two removals to go through", round, left, statuses)
					}
				}
			})
		}
	})
}
