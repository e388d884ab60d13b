package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestGCPercent(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tc := range []struct {
		name        string
		live, floor uint64
		want        int
	}{
		{"nothing live counts as 1 MiB", 0, 64 * mib, 6400},
		{"small heap: the floor", 6 * mib, 64 * mib, 1067},
		{"heap at the floor: the default", 64 * mib, 64 * mib, 100},
		{"large heap: the default", 1 << 30, 64 * mib, 100},
		{"at most 100 times the heap", 1 * mib, 1 << 40, 10_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gcPercent(tc.live, tc.floor); got != tc.want {
				t.Fatalf("gcPercent(%d, %d) = %d, want %d", tc.live, tc.floor, got, tc.want)
			}
		})
	}
}

// TestGCFloor checks that the floor reaches the runtime after a
// collection. It changes the test binary's GC setting (to a larger one).
func TestGCFloor(t *testing.T) {
	t.Setenv("GOGC", "")
	gogc := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	gcFloor(256 << 20)
	if got := gogc(); got <= 100 {
		t.Fatalf("GOGC = %d with a floor of 256 MiB, want more than 100", got)
	}
	// Set back, the floor comes back after the next collection (the
	// finalizer goroutine runs the tuning): wait for it by collecting and
	// yielding, without sleeping.
	debug.SetGCPercent(100)
	for i := 0; i < 1000 && gogc() <= 100; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := gogc(); got <= 100 {
		t.Fatalf("GOGC = %d after collections with a floor of 256 MiB, want more than 100", got)
	}
}
