package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestKnownDevices checks that a known device is the pair of a user and a
// device hash, that remembering it again keeps its creation and updates
// its last use, address and browser once it is stale (not before), and
// that the devices of a user are listed, forgotten one by one or all, and
// swept when stale.
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
		remember := func(d *store.KnownDevice, staleBefore time.Time, want bool) {
			t.Helper()
			wrote, err := st.RememberDevice(ctx, d, staleBefore)
			if err != nil || wrote != want {
				t.Fatalf("RememberDevice(%+v, %s) = %v, %v; want %v", d, staleBefore, wrote, err, want)
			}
		}
		remember(&store.KnownDevice{UserID: ann, DeviceHash: "h1", IP: "192.0.2.1", UserAgent: "one", LastSeenAt: t0}, t0, true)
		// Seen at t0: not stale before t0, stale before t0+1h.
		remember(&store.KnownDevice{UserID: ann, DeviceHash: "h1", IP: "192.0.2.9", UserAgent: "nine", LastSeenAt: t0.Add(time.Minute)}, t0, false)
		remember(&store.KnownDevice{UserID: ann, DeviceHash: "h1", IP: "192.0.2.2", UserAgent: "two", LastSeenAt: t0.Add(time.Hour)}, t0.Add(time.Hour), true)
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
		if _, err := st.RememberDevice(ctx, &store.KnownDevice{UserID: ann, LastSeenAt: t0}, t0); err == nil {
			t.Error("a device without a hash is remembered")
		}

		remember(&store.KnownDevice{UserID: ann, DeviceHash: "h2", LastSeenAt: t0.Add(2 * time.Hour)}, t0, true)
		remember(&store.KnownDevice{UserID: ann, DeviceHash: "h3", LastSeenAt: t0.Add(-time.Hour)}, t0, true)
		remember(&store.KnownDevice{UserID: bob, DeviceHash: "h1", LastSeenAt: t0}, t0, true)
		hashes := func(user int64) []string {
			t.Helper()
			all, err := st.UserKnownDevices(ctx, user)
			storetest.Must(t, err)
			var out []string
			for _, d := range all {
				if d.UserID != user {
					t.Fatalf("UserKnownDevices(%d) lists %+v", user, d)
				}
				out = append(out, d.DeviceHash)
			}
			return out
		}
		if got := hashes(ann); !slices.Equal(got, []string{"h2", "h1", "h3"}) {
			t.Fatalf("ann's devices = %v, want the latest used first", got)
		}
		if err := st.ForgetDevice(ctx, bob, "h2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("forget ann's device as bob: %v, want ErrNotFound", err)
		}
		storetest.Must(t, st.ForgetDevice(ctx, ann, "h2"))
		if err := st.ForgetDevice(ctx, ann, "h2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("forget twice: %v, want ErrNotFound", err)
		}
		// Swept: h3, last seen an hour before t0.
		if n, err := st.DeleteStaleKnownDevices(ctx, t0); err != nil || n != 1 {
			t.Fatalf("DeleteStaleKnownDevices = %d, %v; want 1", n, err)
		}
		if got := hashes(ann); !slices.Equal(got, []string{"h1"}) {
			t.Fatalf("ann's devices after forget and sweep = %v", got)
		}
		if n, err := st.ForgetUserDevices(ctx, ann); err != nil || n != 1 {
			t.Fatalf("ForgetUserDevices(ann) = %d, %v; want 1", n, err)
		}
		if got := hashes(ann); len(got) != 0 {
			t.Fatalf("ann's devices after forgetting all = %v", got)
		}
		if got := hashes(bob); !slices.Equal(got, []string{"h1"}) {
			t.Fatalf("bob's devices = %v: forgetting ann's took them", got)
		}
	})
}
