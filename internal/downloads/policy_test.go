package downloads_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/downloads"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// User agents as the clients send them.
const (
	uaPip     = `pip/24.0 {"ci":null,"cpu":"x86_64","implementation":{"name":"CPython","version":"3.12.3"},"installer":{"name":"pip","version":"24.0"}}`
	uaUV      = `uv/0.4.18 {"installer":{"name":"uv","version":"0.4.18"},"python":"3.12.6"}`
	uaPoetry  = "poetry/1.8.3"
	uaGoogle  = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaGPT     = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
	uaFirefox = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
	uaCurl    = "curl/8.5.0"
)

// TestAgents: which user agents each selection counts. Not parallel:
// it measures allocations.
func TestAgents(t *testing.T) {
	for _, tc := range []struct {
		ua                         string
		installers, notBots, total bool
	}{
		{uaPip, true, true, true},
		{uaUV, true, true, true},
		{uaPoetry, true, true, true},
		{"pdm/2.19.1", true, true, true},
		{"PIP/9.0.1 CPython/2.7", true, true, true},
		{"conda/23.7.4 requests/2.31.0 CPython/3.11.5", true, true, true},
		{"setuptools/68.0.0 Python-urllib/3.11", true, true, true},
		{"Artifactory/7.90.10 79010900", true, true, true},
		{"devpi-server/6.12.1 (py3.11.2; linux)", true, true, true},
		{"bandersnatch 6.5.0 (CPython 3.12)", false, true, true},
		{uaGoogle, false, false, true},
		{uaGPT, false, false, true},
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", false, false, true},
		{"AhrefsBot/7.0", false, false, true},
		{"Baiduspider+(+http://www.baidu.com/search/spider.htm)", false, false, true},
		{"facebookexternalhit/1.1", false, false, true},
		{uaFirefox, false, true, true},
		{uaCurl, false, true, true},
		{"python-requests/2.32.3", false, true, true},
		{"Go-http-client/1.1", false, true, true},
		{"", false, true, true},
		{"pipx", false, true, true}, // a name must match whole: "pipx" is not "pip"
		{"pi", false, true, true},
	} {
		if downloads.KindOf([]byte(tc.ua)) != downloads.KindOf(tc.ua) {
			t.Errorf("KindOf(%q) depends on the type", tc.ua)
		}
		for a, want := range map[downloads.Agents]bool{downloads.Installers: tc.installers, downloads.NotBots: tc.notBots, downloads.AllAgents: tc.total} {
			if got := a.Counts(tc.ua); got != want {
				t.Errorf("%s counts %q: %v, want %v", a, tc.ua, got, want)
			}
		}
	}
	for _, a := range []downloads.Agents{downloads.Installers, downloads.NotBots, downloads.AllAgents} {
		if !a.CountsKind(downloads.NoUserAgent) {
			t.Errorf("%s does not count a log line without a user agent", a)
		}
	}
	for _, name := range []string{"installers", "not-bots", "all", " Installers "} {
		a, err := downloads.ParseAgents(name)
		if err != nil || !strings.EqualFold(a.String(), strings.TrimSpace(name)) {
			t.Errorf("ParseAgents(%q) = %v, %v", name, a, err)
		}
	}
	if _, err := downloads.ParseAgents("bots"); err == nil || !strings.Contains(err.Error(), "installers, not-bots or all") {
		t.Errorf("ParseAgents(bots): %v", err)
	}
	if testing.AllocsPerRun(100, func() { downloads.NotBots.Counts(uaGPT); downloads.Installers.Counts(uaPip) }) != 0 {
		t.Error("Agents.Counts allocates")
	}
}

// TestCounterPolicy is download inflation against the server's own
// counting: 30 downloads of one project from one address count as the
// limit, from different addresses as one each; an IPv6 /64 is one
// client; crawlers and scripts do not count; downloads without an
// address are not limited; a new UTC day starts over.
func TestCounterPolicy(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ids := counterProjects(t, s, 2)
		a, b := ids[0], ids[1]
		day1 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		day2 := day1.Add(24 * time.Hour)
		for _, limit := range []int{1, 3} {
			t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
				c := downloads.NewCounter(s, quietLog(), downloads.Policy{PerAddress: limit, Agents: downloads.Installers})
				count := func(what string, want int, ds ...downloads.Download) {
					t.Helper()
					got := 0
					for _, d := range ds {
						if c.Count(d) {
							got++
						}
					}
					if got != want {
						t.Errorf("%s: %d of %d counted, want %d", what, got, len(ds), want)
					}
				}
				many := func(n int, d func(i int) downloads.Download) []downloads.Download {
					out := make([]downloads.Download, n)
					for i := range out {
						out[i] = d(i)
					}
					return out
				}
				at := func(i int) time.Time { return day1.Add(time.Duration(i) * time.Second) }
				count("30 from one address", limit, many(30, func(i int) downloads.Download {
					return downloads.Download{ProjectID: a, At: at(i), Addr: "203.0.113.9", UserAgent: uaPip}
				})...)
				count("the same address with a port, IPv4-mapped, other installers", 0,
					downloads.Download{ProjectID: a, At: day1, Addr: "203.0.113.9:43210", UserAgent: uaUV},
					downloads.Download{ProjectID: a, At: day1, Addr: "::ffff:203.0.113.9", UserAgent: uaPoetry})
				count("the same address, another project", limit, many(30, func(i int) downloads.Download {
					return downloads.Download{ProjectID: b, At: at(i), Addr: "203.0.113.9", UserAgent: uaPip}
				})...)
				count("10 addresses", 10, many(10, func(i int) downloads.Download {
					return downloads.Download{ProjectID: a, At: at(i), Addr: fmt.Sprintf("198.51.100.%d", i+1), UserAgent: uaPip}
				})...)
				count("30 addresses of one IPv6 /64", limit, many(30, func(i int) downloads.Download {
					return downloads.Download{ProjectID: a, At: at(i), Addr: fmt.Sprintf("2001:db8:0:7::%x", i+1), UserAgent: uaPip}
				})...)
				count("5 IPv6 /64s", 5, many(5, func(i int) downloads.Download {
					return downloads.Download{ProjectID: a, At: at(i), Addr: fmt.Sprintf("[2001:db8:1:%x::1]:443", i), UserAgent: uaPip}
				})...)
				count("crawlers, browsers, scripts, no user agent", 0,
					downloads.Download{ProjectID: a, At: day1, Addr: "192.0.2.1", UserAgent: uaGoogle},
					downloads.Download{ProjectID: a, At: day1, Addr: "192.0.2.2", UserAgent: uaGPT},
					downloads.Download{ProjectID: a, At: day1, Addr: "192.0.2.3", UserAgent: uaFirefox},
					downloads.Download{ProjectID: a, At: day1, Addr: "192.0.2.4", UserAgent: uaCurl},
					downloads.Download{ProjectID: a, At: day1, Addr: "192.0.2.5", UserAgent: ""})
				count("no address: not limited", 4, many(4, func(i int) downloads.Download {
					return downloads.Download{ProjectID: a, At: at(i), UserAgent: uaPip}
				})...)
				count("the next day", limit, many(30, func(i int) downloads.Download {
					return downloads.Download{ProjectID: a, At: day2.Add(time.Duration(i) * time.Second), Addr: "203.0.113.9", UserAgent: uaPip}
				})...)
				count("a download that ended before midnight, counted after", 1,
					downloads.Download{ProjectID: a, At: day1, Addr: "203.0.113.9", UserAgent: uaPip})
				if sk := c.Skipped(); sk.Agent != 5 || sk.Limit != int64(4*(30-limit)+2) || sk.Full != 0 {
					t.Errorf("skipped %+v", sk)
				}
				storetest.Must(t, c.Flush(ctx))
				// Day 1: limit + 10 + limit + 5 + 4 + 1 for a, limit for b; day 2: limit for a.
				if got, want := downloadsOn(t, s, a, store.DayOf(day1)), int64(2*limit+20); got != want {
					t.Errorf("a on day 1: %d, want %d", got, want)
				}
				if got := downloadsOn(t, s, b, store.DayOf(day1)); got != int64(limit) {
					t.Errorf("b on day 1: %d, want %d", got, limit)
				}
				if got := downloadsOn(t, s, a, store.DayOf(day2)); got != int64(limit) {
					t.Errorf("a on day 2: %d, want %d", got, limit)
				}
				_, err := s.DB().ExecContext(ctx, `DELETE FROM downloads`)
				storetest.Must(t, err)
			})
		}
	})
}

// TestCounterMaxAddresses: the memory of the day's addresses is bounded;
// past it, new addresses do not count (a flood buys at most MaxAddresses
// × PerAddress counts), the addresses it knows still do, and it says so
// once a day.
func TestCounterMaxAddresses(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	c := downloads.NewCounter(nil, slog.New(slog.NewTextHandler(&logged, nil)), downloads.Policy{PerAddress: 2, MaxAddresses: 5})
	day1 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	counted := 0
	for range 3 {
		for i := range 10 {
			if c.Count(downloads.Download{ProjectID: 1, At: day1, Addr: fmt.Sprintf("192.0.2.%d", i)}) {
				counted++
			}
		}
	}
	if counted != 10 || c.Pending() != 10 {
		t.Fatalf("%d counted (%d pending), want 5 addresses × 2", counted, c.Pending())
	}
	if sk := c.Skipped(); sk.Full != 15 || sk.Limit != 5 {
		t.Errorf("skipped %+v, want 15 for the full memory and 5 over the limit", sk)
	}
	if n := strings.Count(logged.String(), "downloads-max-addresses"); n != 1 {
		t.Errorf("the full memory was logged %d times, want once:\n%s", n, logged.String())
	}
	if !c.Count(downloads.Download{ProjectID: 1, At: day1.Add(24 * time.Hour), Addr: "192.0.2.9"}) {
		t.Error("a new day does not start with an empty memory")
	}
}

// TestImportPerAddress is download inflation against the log import: the
// lines from one address are limited per project and day, in one file and
// across files and imports (a log that grew, a rotated log); lines without
// an address count as before; crawlers do not count; importing again
// counts nothing.
func TestImportPerAddress(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newImpFixture(t, st)
		f.im.Policy = downloads.Policy{PerAddress: 1, Agents: downloads.Installers}
		dir := t.TempDir()
		combined := func(addr, day, file, ua string) string {
			return fmt.Sprintf("%s - - [%s:10:01:02 +0000] \"GET /files/ab/%s HTTP/1.1\" 200 5120 \"-\" %q\n", addr, day, file, ua)
		}
		var log strings.Builder
		for range 30 { // the attack: one address, one file
			log.WriteString(combined("203.0.113.9", "24/Nov/2026", "foo-1.0.tar.gz", "pip/24.0"))
		}
		log.WriteString(combined("203.0.113.9", "24/Nov/2026", "foo-1.0-py3-none-any.whl", "uv/0.4.18")) // the same project
		for i := range 5 {
			log.WriteString(combined(fmt.Sprintf("198.51.100.%d", i+1), "24/Nov/2026", "foo-1.0.tar.gz", "pip/24.0"))
		}
		for i := range 4 { // 4 addresses of one /64
			log.WriteString(combined(fmt.Sprintf("2001:db8::%d", i+1), "24/Nov/2026", "bar_baz-2.0-py3-none-any.whl", "pip/24.0"))
		}
		log.WriteString(combined("192.0.2.1", "24/Nov/2026", "foo-1.0.tar.gz", uaGoogle))
		log.WriteString(combined("192.0.2.2", "24/Nov/2026", "foo-1.0.tar.gz", "-"))
		// The common format (no user agent) and JSON lines without an
		// address: as before the limit.
		log.WriteString(`192.0.2.3 - - [24/Nov/2026:11:00:00 +0000] "GET /files/ab/foo-1.0.tar.gz HTTP/1.1" 200 5120` + "\n")
		log.WriteString(`192.0.2.3 - - [24/Nov/2026:11:00:01 +0000] "GET /files/ab/foo-1.0.tar.gz HTTP/1.1" 200 5120` + "\n")
		for range 3 {
			log.WriteString(`{"timestamp":"2026-11-24T12:00:00Z","url":"/files/ab/bar_baz-2.0-py3-none-any.whl"}` + "\n")
		}
		path := filepath.Join(dir, "access.log")
		storetest.Must(t, os.WriteFile(path, []byte(log.String()), 0o644))
		res := f.importFile(path)
		// foo: 1 + 5 + 1 (192.0.2.3); bar-baz: 1 (the /64) + 3 (no address).
		f.check(impWant{"foo", "2026-11-24", 7}, impWant{"bar-baz", "2026-11-24", 4})
		if res.Counted != 11 || res.IgnoredBy["over the limit per address"] != 30+3+1 || res.IgnoredBy["user agent not counted"] != 2 {
			t.Errorf("first import: %d counted, ignored %v", res.Counted, res.IgnoredBy)
		}
		if res.Record == nil || res.Record.Counted != 11 || res.Record.Ignored != res.Ignored {
			t.Errorf("record %+v, result %+v", res.Record, res)
		}

		// Again: nothing new.
		if res := f.importFile(path); res.Counted != 0 || res.Record != nil {
			t.Errorf("second import of the same log: %+v", res)
		}
		// The log grew: the same address again on the same day does not
		// count, on the next day it does.
		more := combined("203.0.113.9", "24/Nov/2026", "foo-1.0.tar.gz", "pip/24.0") +
			combined("203.0.113.9", "25/Nov/2026", "foo-1.0.tar.gz", "pip/24.0") +
			combined("203.0.113.9", "25/Nov/2026", "foo-1.0.tar.gz", "pip/24.0")
		storetest.Must(t, os.WriteFile(path, []byte(log.String()+more), 0o644))
		if res := f.importFile(path); res.Counted != 1 || res.IgnoredBy["over the limit per address"] != 2 {
			t.Errorf("the grown log: %d counted, ignored %v", res.Counted, res.IgnoredBy)
		}
		// Another log (rotated; it does not start like the first) with
		// the same addresses on the same days: nothing more.
		other := filepath.Join(dir, "access.log.1")
		storetest.Must(t, os.WriteFile(other, []byte(combined("198.51.100.1", "24/Nov/2026", "foo-1.0.tar.gz", "pip/24.0")+more), 0o644))
		if res := f.importFile(other); res.Counted != 0 || res.Ignored != 4 {
			t.Errorf("another log: %d counted, %d ignored (%v)", res.Counted, res.Ignored, res.IgnoredBy)
		}
		f.check(impWant{"foo", "2026-11-24", 7}, impWant{"foo", "2026-11-25", 1}, impWant{"bar-baz", "2026-11-24", 4})

		// The store holds keyed hashes, not addresses: one row per
		// address (or /64), project and day that the limit saw.
		var rows int
		storetest.Must(t, st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM download_seen`).Scan(&rows))
		if want := 2 + 5 + 1 + 1; rows != want { // 203.0.113.9 on 2 days, 198.51.100.1-5, 2001:db8::/64, 192.0.2.3
			t.Errorf("%d rows in download_seen, want %d", rows, want)
		}

		// Many addresses (more than one statement's worth of rows), twice
		// each: each counts once, 203.0.113.9 too (seen that day, but for
		// another project).
		var many strings.Builder
		for i := range 2500 {
			addr := fmt.Sprintf("10.%d.%d.1", i/256, i%256)
			if i == 0 {
				addr = "203.0.113.9"
			}
			line := combined(addr, "25/Nov/2026", "bar_baz-2.0-py3-none-any.whl", "pip/24.0")
			many.WriteString(line + line)
		}
		manyPath := filepath.Join(dir, "many.log")
		storetest.Must(t, os.WriteFile(manyPath, []byte(many.String()), 0o644))
		if res := f.importFile(manyPath); res.Counted != 2500 || res.IgnoredBy["over the limit per address"] != 2500 {
			t.Errorf("2500 addresses twice: %d counted, ignored %v", res.Counted, res.IgnoredBy)
		}
		if res := f.importFile(manyPath); res.Counted != 0 || res.Record != nil {
			t.Errorf("2500 addresses again: %+v", res)
		}
		f.check(impWant{"foo", "2026-11-24", 7}, impWant{"foo", "2026-11-25", 1}, impWant{"bar-baz", "2026-11-24", 4},
			impWant{"bar-baz", "2026-11-25", 2500})
	})
}
