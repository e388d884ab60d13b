package store_test

import (
	"errors"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestKnownDevices checks that a known device is the pair of a user and a
// device hash, that remembering it again keeps its creation and updates
// its last use, address and browser.
func TestKnownDevices(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		users := make([]*store.User, 2)
		for i, name := range []string{"ann", "bob"} {
			users[i] = &store.User{Username: name, Email: name + "@example.org", PasswordHash: "x", CreatedAt: t0}
			storetest.Must(t, st.CreateUser(ctx, users[i]))
		}
		ann, bob := users[0].ID, users[1].ID
		storetest.Must(t, st.RememberDevice(ctx, &store.KnownDevice{UserID: ann, DeviceHash: "h1", IP: "192.0.2.1", UserAgent: "one", LastSeenAt: t0}))
		storetest.Must(t, st.RememberDevice(ctx, &store.KnownDevice{UserID: ann, DeviceHash: "h1", IP: "192.0.2.2", UserAgent: "two", LastSeenAt: t0.Add(time.Hour)}))
		d, err := st.KnownDevice(ctx, ann, "h1")
		storetest.Must(t, err)
		if !d.CreatedAt.Equal(t0) || !d.LastSeenAt.Equal(t0.Add(time.Hour)) || d.IP != "192.0.2.2" || d.UserAgent != "two" {
			t.Fatalf("remembered twice: %+v", d)
		}
		for _, tc := range []struct {
			user int64
			hash string
		}{{bob, "h1"}, {ann, "h2"}} {
			if _, err := st.KnownDevice(ctx, tc.user, tc.hash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("KnownDevice(%d, %q): %v, want ErrNotFound", tc.user, tc.hash, err)
			}
		}
		if err := st.RememberDevice(ctx, &store.KnownDevice{UserID: ann, LastSeenAt: t0}); err == nil {
			t.Error("a device without a hash is remembered")
		}
	})
}
