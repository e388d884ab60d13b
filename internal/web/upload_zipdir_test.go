package web

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store/storetest"
)

// centralDirectoryBomb is a "wheel" of n minimal zip central directory
// records (47 bytes each, one-letter names) and an end record: no member
// data at all. archive/zip turns each record into a File of some 250 bytes
// before its caller can count them.
func centralDirectoryBomb(n int) []byte {
	var b bytes.Buffer
	b.Grow(n*47 + 22)
	var h [46]byte
	binary.LittleEndian.PutUint32(h[0:], 0x02014b50)
	binary.LittleEndian.PutUint16(h[28:], 1) // name length
	for range n {
		b.Write(h[:])
		b.WriteByte('a')
	}
	dirSize := b.Len()
	var e [22]byte
	binary.LittleEndian.PutUint32(e[0:], 0x06054b50)
	binary.LittleEndian.PutUint16(e[8:], uint16(n))  // archive/zip compares the count modulo 65536
	binary.LittleEndian.PutUint16(e[10:], uint16(n)) // ... and reads records until a bad one
	binary.LittleEndian.PutUint32(e[12:], uint32(dirSize))
	b.Write(e[:])
	return b.Bytes()
}

// TestUploadZipDirectoryMemory uploads a 56 MB wheel that is nothing but
// 1.2 million central directory records: it is refused (its records name
// no local header) without the server spending memory on every record (before, the
// upload cost some 300 MB of allocations, half a gigabyte at the default
// 100 MiB file size limit, per upload in flight). Not parallel: it measures
// the process's allocations.
func TestUploadZipDirectoryMemory(t *testing.T) {
	// One dialect after the other (not storetest.EachDialect): the test
	// measures the whole process's allocations.
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newTestServerWith(t, d, serverConfig{MaxFileSize: 64 << 20})
			_, token := s.user("alice")
			dist := disttest.Dist{Name: "dirbomb", Version: "1.0"}
			content := centralDirectoryBomb(1_200_000)
			req := s.uploadRequest(token, dist.Form("bdist_wheel", content), dist.WheelFilename(), content)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, body := s.do(req)
			runtime.ReadMemStats(&after)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Status, "Missing filename in local headers") {
				t.Fatalf("upload of a %d-byte central directory: %s %s, want 400 Missing filename in local headers", len(content), resp.Status, body)
			}
			// The request body is built in memory by the test (56 MB,
			// not counted: it exists before), the server streams it.
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("refusing a %d MB central directory allocated %d MB", len(content)>>20, alloc>>20)
			if alloc > 64<<20 {
				t.Errorf("refusing a %d MB central directory allocated %d MB, want < 64 MB", len(content)>>20, alloc>>20)
			}
		})
	}
}
