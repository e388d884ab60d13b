package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// gcFloor keeps the Go collector from running before the heap has grown
// by at least floor bytes, however small the live heap is.
//
// With the default GOGC=100, the collector runs each time the heap doubles.
// A package index keeps little live memory when its cache is cold or its
// index small (a few MB), while every request allocates a few KB in
// net/http: the collector then runs 15 times a second under load, and
// costs about a tenth of the throughput of cached pages
// (docs/BENCHMARKS.md). After each collection, gcFloor raises GOGC so
// that the next one comes after max(live heap, floor) more bytes, and
// lets it back to 100 once the live heap exceeds floor: the memory cost is
// at most floor bytes more than the default. It does nothing when the
// operator set GOGC, or with floor 0.
func gcFloor(floor uint64) {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/gogc:percent"}}
	var tune func()
	tune = func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[1].Value.Kind() == metrics.KindUint64 {
			if p := gcPercent(sample[0].Value.Uint64(), floor); uint64(p) != sample[1].Value.Uint64() {
				debug.SetGCPercent(p)
			}
		}
		// A finalizer runs once, after the collection that found its
		// object unreachable: set a new one for the next collection.
		// (Not a tiny object: those may share a block and never be
		// finalized.)
		runtime.SetFinalizer(new([64]byte), func(*[64]byte) { tune() })
	}
	tune()
}

// gcPercent is the GOGC that makes the next collection come after the heap
// grew by max(live, floor) bytes.
func gcPercent(live, floor uint64) int {
	if live >= floor {
		return 100
	}
	if live < 1<<20 {
		live = 1 << 20
	}
	return int(min(math.Ceil(float64(floor)/float64(live)*100), 10_000))
}
