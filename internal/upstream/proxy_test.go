package upstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/upstream"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// proxyFixture is a Proxy over a test store, a blob store in a temporary
// folder and httptest upstreams, on a test clock.
type proxyFixture struct {
	st    *store.Store
	blobs blob.Store
	clk   *clocktest.Clock
	cfg   upstream.ProxyConfig
}

func newProxyFixture(t testing.TB, st *store.Store, cfg upstream.ProxyConfig, ups ...*fakeIndex) *proxyFixture {
	t.Helper()
	blobs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	clk := clocktest.New(t0)
	for _, u := range ups {
		parsed, err := upstream.ParseUpstream(u.root())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Upstreams = append(cfg.Upstreams, parsed)
	}
	cfg.BaseURL, cfg.Now = "https://index.example", clk.Now
	return &proxyFixture{st: st, blobs: blobs, clk: clk, cfg: cfg}
}

// proxy returns a new Proxy of the fixture (a restart when called again).
func (fx *proxyFixture) proxy(t testing.TB) *upstream.Proxy {
	t.Helper()
	p, err := upstream.NewProxy(fx.st, fx.blobs, fx.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// simpleJSON is the part of a rendered PEP 691 page the tests look at.
type simpleJSON struct {
	Name          string            `json:"name"`
	Versions      []string          `json:"versions"`
	ProjectStatus map[string]string `json:"project-status"`
	Files         []struct {
		Filename string `json:"filename"`
		URL      string `json:"url"`
	} `json:"files"`
}

func parsePage(t *testing.T, page *index.ProxiedPage) simpleJSON {
	t.Helper()
	var s simpleJSON
	if err := json.Unmarshal(page.JSON.Body, &s); err != nil {
		t.Fatalf("page JSON: %v\n%s", err, page.JSON.Body)
	}
	return s
}

// filenames lists the files of a page.
func filenames(t *testing.T, page *index.ProxiedPage) string {
	t.Helper()
	var names []string
	for _, f := range parsePage(t, page).Files {
		names = append(names, f.Filename)
	}
	return strings.Join(names, " ")
}

func wheel(project, version string, uploaded time.Time) fakeFile {
	name := project + "-" + version + "-py3-none-any.whl"
	return fakeFile{name: name, body: []byte("wheel " + name), uploaded: uploaded}
}

func TestProxyFreshStaleBreaker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		up.set("demo", wheel("demo", "1.0", t0.Add(-time.Hour)))
		fx := newProxyFixture(t, st, upstream.ProxyConfig{}, up)
		p := fx.proxy(t)

		page, err := p.Project(ctx, "demo")
		if err != nil || page.Stale || filenames(t, page) != "demo-1.0-py3-none-any.whl" {
			t.Fatalf("first: %v, %+v", err, page)
		}
		if got := parsePage(t, page).Files[0].URL; got != "https://index.example/files/"+sum([]byte("wheel demo-1.0-py3-none-any.whl"))+"/demo-1.0-py3-none-any.whl" {
			t.Fatalf("file URL %s", got)
		}
		if !strings.Contains(string(page.HTML.Body), "Links for demo") || page.Upstream != up.root() || page.API.Body == nil {
			t.Fatalf("page %+v\n%s", page, page.HTML.Body)
		}
		// Fresh: from memory.
		if again, err := p.Project(ctx, "demo"); err != nil || again != page || up.count("/simple/demo/") != 1 {
			t.Fatalf("fresh: %v, same %v, %d GETs", err, again == page, up.count("/simple/demo/"))
		}
		// Stale: a conditional GET, answered 304.
		fx.clk.Add(upstream.DefaultTTL + time.Second)
		if again, err := p.Project(ctx, "demo"); err != nil || again.Stale || up.count("/simple/demo/") != 2 ||
			again.HTML.ETag != page.HTML.ETag {
			t.Fatalf("revalidated: %v, %+v, %d GETs", err, again, up.count("/simple/demo/"))
		}
		// Stale and the upstream down: the cached page, said stale.
		up.setDown(true)
		fx.clk.Add(upstream.DefaultTTL + time.Second)
		stale, err := p.Project(ctx, "demo")
		if err != nil || !stale.Stale || filenames(t, stale) != "demo-1.0-py3-none-any.whl" || up.count("/simple/demo/") != 3 {
			t.Fatalf("down: %v, %+v, %d GETs", err, stale, up.count("/simple/demo/"))
		}
		// The breaker keeps the next attempts off the network.
		fx.clk.Add(11 * time.Second)
		if again, err := p.Project(ctx, "demo"); err != nil || !again.Stale || up.count("/simple/demo/") != 3 {
			t.Fatalf("breaker: %v, %+v, %d GETs", err, again, up.count("/simple/demo/"))
		}
		// Never cached and down: unavailable.
		if _, err := p.Project(ctx, "other"); !problem.Is(err, problem.Unavailable) {
			t.Fatalf("never cached, down: %v", err)
		}
		// Back up, after the breaker's cooldown: fresh again, new file seen.
		up.setDown(false)
		up.set("demo", wheel("demo", "1.0", t0.Add(-time.Hour)), wheel("demo", "2.0", t0))
		fx.clk.Add(upstream.DefaultBreakerCooldown)
		page, err = p.Project(ctx, "demo")
		if err != nil || page.Stale || filenames(t, page) != "demo-1.0-py3-none-any.whl demo-2.0-py3-none-any.whl" {
			t.Fatalf("back: %v, %+v", err, page)
		}
	})
}

func TestProxySingleFlight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		w := wheel("demo", "1.0", t0.Add(-time.Hour))
		up.set("demo", w)
		p := newProxyFixture(t, st, upstream.ProxyConfig{}, up).proxy(t)
		var wg sync.WaitGroup
		errs := make(chan error, 120)
		for range 100 {
			wg.Go(func() {
				if _, err := p.Project(ctx, "demo"); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		for range 20 {
			wg.Go(func() {
				f, err := p.File(ctx, w.sha(), w.name, false)
				if err == nil && (f.Key != w.sha() || f.Size != int64(len(w.body))) {
					err = errors.New("wrong file")
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n, m := up.count("/simple/demo/"), up.count("/files/"+w.name); n != 1 || m != 1 {
			t.Fatalf("%d page GETs, %d file GETs; want 1 each", n, m)
		}
	})
}

func TestProxyPinsTheFirstUpstream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		first, second := newFakeIndex(t), newFakeIndex(t)
		second.set("demo", wheel("demo", "1.0", t0.Add(-time.Hour)))
		fx := newProxyFixture(t, st, upstream.ProxyConfig{}, first, second)
		p := fx.proxy(t)
		page, err := p.Project(ctx, "demo")
		if err != nil || page.Upstream != second.root() {
			t.Fatalf("%v, %+v", err, page)
		}
		// The first upstream gains the name: the pinned one keeps it.
		first.set("demo", wheel("demo", "9.9", t0.Add(-time.Hour)))
		fx.clk.Add(upstream.DefaultTTL + time.Second)
		page, err = p.Project(ctx, "demo")
		if err != nil || page.Upstream != second.root() || filenames(t, page) != "demo-1.0-py3-none-any.whl" {
			t.Fatalf("after the first gained it: %v, %+v", err, page)
		}
		if n := first.count("/simple/demo/"); n != 1 {
			t.Fatalf("the first upstream was asked %d times, want 1 (before the pin)", n)
		}
		// Its file is not served from the proxy.
		if _, err := p.File(ctx, sum([]byte("wheel demo-9.9-py3-none-any.whl")), "demo-9.9-py3-none-any.whl", false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("file of the other upstream: %v", err)
		}
		// The pinned upstream drops the name: its page is served (stale)
		// for a negative TTL, then the name is unpinned and the upstreams
		// asked again in order; the files are never merged.
		second.mu.Lock()
		delete(second.projects, "demo")
		second.mu.Unlock()
		fx.clk.Add(upstream.DefaultTTL + time.Second)
		page, err = p.Project(ctx, "demo")
		if err != nil || !page.Stale || page.Upstream != second.root() || first.count("/simple/demo/") != 1 {
			t.Fatalf("pinned upstream lost it: %v, %+v", err, page)
		}
		fx.clk.Add(upstream.DefaultNegativeTTL)
		page, err = p.Project(ctx, "demo")
		if err != nil || page.Stale || page.Upstream != first.root() || filenames(t, page) != "demo-9.9-py3-none-any.whl" {
			t.Fatalf("unpinned: %v, %+v", err, page)
		}
	})
}

func TestProxyNegativeTTL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		fx := newProxyFixture(t, st, upstream.ProxyConfig{}, up)
		p := fx.proxy(t)
		for i, step := range []struct {
			advance time.Duration
			gets    int
		}{{0, 1}, {upstream.DefaultNegativeTTL - time.Second, 1}, {2 * time.Second, 2}} {
			fx.clk.Add(step.advance)
			if _, err := p.Project(ctx, "nowhere"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("step %d: %v", i, err)
			}
			if n := up.count("/simple/nowhere/"); n != step.gets {
				t.Fatalf("step %d: %d GETs, want %d", i, n, step.gets)
			}
		}
		// Listed meanwhile: found after the negative TTL.
		up.set("nowhere", wheel("nowhere", "1.0", t0))
		fx.clk.Add(upstream.DefaultNegativeTTL + time.Second)
		if _, err := p.Project(ctx, "nowhere"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestProxyMinAge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const minAge = 7 * 24 * time.Hour
		up := newFakeIndex(t)
		old, young, undated := wheel("demo", "1.0", t0.Add(-minAge-time.Second)), wheel("demo", "2.0", t0.Add(-minAge+time.Second)),
			wheel("demo", "3.0", time.Time{})
		young.meta = []byte("Metadata-Version: 2.1\nName: demo\nVersion: 2.0\n")
		up.set("demo", old, young, undated)
		fx := newProxyFixture(t, st, upstream.ProxyConfig{MinAge: minAge, TTL: time.Hour}, up)
		p := fx.proxy(t)
		page, err := p.Project(ctx, "demo")
		if err != nil || filenames(t, page) != old.name || strings.Join(parsePage(t, page).Versions, " ") != "1.0" {
			t.Fatalf("%v, %q", err, filenames(t, page))
		}
		for _, f := range []fakeFile{young, undated} {
			if _, err := p.File(ctx, f.sha(), f.name, false); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("hidden %s: %v", f.name, err)
			}
		}
		if _, err := p.File(ctx, young.sha(), young.name, true); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("metadata of a hidden file: %v", err)
		}
		// One second before and after it comes of age; re-rendered, not fetched.
		fx.clk.Add(time.Second - time.Microsecond)
		if page, _ = p.Project(ctx, "demo"); filenames(t, page) != old.name {
			t.Fatalf("just before: %q", filenames(t, page))
		}
		fx.clk.Add(time.Microsecond)
		page, err = p.Project(ctx, "demo")
		if err != nil || filenames(t, page) != old.name+" "+young.name || up.count("/simple/demo/") != 1 {
			t.Fatalf("of age: %v, %q, %d GETs", err, filenames(t, page), up.count("/simple/demo/"))
		}
		if f, err := p.File(ctx, young.sha(), young.name, true); err != nil || f.Key != sum(young.meta) {
			t.Fatalf("metadata: %v, %+v", err, f)
		}
		// Asked by its distribution's filename, the one the index checks
		// against its local files first: another name is not found
		// (/files/<sha>/<name>.metadata.metadata got past that check).
		if _, err := p.File(ctx, young.sha(), young.name+".metadata", true); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("metadata asked as %s.metadata: %v, want not found", young.name, err)
		}
		// A break glass lists the undated file until it expires.
		if err := st.PutUpstreamRule(ctx, store.UpstreamRule{Pattern: "demo", Action: store.RuleAllow, SkipMinAge: true,
			Reason: "fix", CreatedAt: fx.clk.Now(), ExpiresAt: fx.clk.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		fx.clk.Add(6 * time.Second) // the rules are read again
		page, err = p.Project(ctx, "demo")
		if err != nil || filenames(t, page) != old.name+" "+young.name+" "+undated.name {
			t.Fatalf("break glass: %v, %q", err, filenames(t, page))
		}
		if _, err := p.File(ctx, undated.sha(), undated.name, false); err != nil {
			t.Fatalf("file under a break glass: %v", err)
		}
		fx.clk.Add(time.Minute)
		if page, err = p.Project(ctx, "demo"); err != nil || filenames(t, page) != old.name+" "+young.name {
			t.Fatalf("break glass expired: %v, %q", err, filenames(t, page))
		}
		if n := up.count("/simple/demo/"); n != 1 {
			t.Fatalf("%d page GETs, want 1", n)
		}
	})
}

func TestProxyHTMLUpstream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		up.html = true
		w := wheel("demo", "1.0", time.Time{})
		up.set("demo", w)
		fx := newProxyFixture(t, st, upstream.ProxyConfig{}, up)
		p := fx.proxy(t)
		page, err := p.Project(ctx, "demo")
		if err != nil || filenames(t, page) != w.name {
			t.Fatalf("%v, %q", err, filenames(t, page))
		}
		// The size HTML does not give is asked with a HEAD, once.
		var doc struct {
			Files []map[string]any `json:"files"`
		}
		if err := json.Unmarshal(page.JSON.Body, &doc); err != nil || doc.Files[0]["size"] != float64(len(w.body)) {
			t.Fatalf("size: %v, %s", err, page.JSON.Body)
		}
		if n := up.count("/files/" + w.name); n != 1 {
			t.Fatalf("%d requests of the file, want 1 HEAD", n)
		}
		up.set("demo", w, wheel("demo", "2.0", time.Time{}))
		fx.clk.Add(upstream.DefaultTTL + time.Second)
		if page, err = p.Project(ctx, "demo"); err != nil || len(parsePage(t, page).Files) != 2 || up.count("/files/"+w.name) != 1 {
			t.Fatalf("refresh: %v, %s, %d requests of the first file", err, page.JSON.Body, up.count("/files/"+w.name))
		}
		// Under a minimum age, files without an upload time are hidden.
		fx.cfg.MinAge = time.Hour
		if page, err = fx.proxy(t).Project(ctx, "demo"); err != nil || filenames(t, page) != "" {
			t.Fatalf("an HTML upstream gives no upload time: %v, %q", err, filenames(t, page))
		}
	})
}

func TestProxyQuarantine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		w := wheel("demo", "1.0", t0.Add(-time.Hour))
		up.set("demo", w)
		p := newProxyFixture(t, st, upstream.ProxyConfig{}, up).proxy(t)
		if _, err := p.Project(ctx, "demo"); err != nil {
			t.Fatal(err)
		}
		if err := p.Quarantine(ctx, nil, audit0, "demo", "malware"); err != nil {
			t.Fatal(err)
		}
		if err := p.Quarantine(ctx, nil, audit0, "demo", "malware"); !problem.Is(err, problem.Conflict) {
			t.Fatalf("twice: %v", err)
		}
		if err := p.Quarantine(ctx, &store.User{ID: 1, Username: "eve"}, audit0, "demo", "x"); !problem.Is(err, problem.Forbidden) {
			t.Fatalf("not an administrator: %v", err)
		}
		page, err := p.Project(ctx, "demo")
		s := parsePage(t, page)
		if err != nil || len(s.Files) != 0 || s.ProjectStatus["status"] != "quarantined" || s.ProjectStatus["reason"] != "malware" {
			t.Fatalf("quarantined: %v, %s", err, page.JSON.Body)
		}
		if _, err := p.File(ctx, w.sha(), w.name, false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("file of a quarantined name: %v", err)
		}
		if err := p.Release(ctx, nil, audit0, "demo"); err != nil {
			t.Fatal(err)
		}
		if page, err = p.Project(ctx, "demo"); err != nil || filenames(t, page) != w.name {
			t.Fatalf("released: %v, %s", err, page.JSON.Body)
		}
		// A name never fetched is blocked before it is, without asking.
		if err := p.Quarantine(ctx, nil, audit0, "later", "typosquat"); err != nil {
			t.Fatal(err)
		}
		up.set("later", wheel("later", "1.0", t0))
		page, err = p.Project(ctx, "later")
		if err != nil || parsePage(t, page).ProjectStatus["status"] != "quarantined" || up.count("/simple/later/") != 0 {
			t.Fatalf("pre-emptive: %v, %d GETs", err, up.count("/simple/later/"))
		}
		events, err := st.JournalSince(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		if got := strings.Join(actions, ","); got != "refresh upstream project,quarantine upstream project,release upstream project,quarantine upstream project" {
			t.Fatalf("journal: %s", got)
		}
	})
}

var audit0 = audit0Meta()

func TestProxyHashMismatchStoresNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		bad := wheel("demo", "1.0", t0.Add(-time.Hour))
		bad.listedSHA = sum([]byte("other bytes"))
		up.set("demo", bad)
		fx := newProxyFixture(t, st, upstream.ProxyConfig{}, up)
		p := fx.proxy(t)
		if _, err := p.Project(ctx, "demo"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.File(ctx, bad.sha(), bad.name, false); !problem.Is(err, problem.BadGateway) {
			t.Fatalf("mismatch: %v", err)
		}
		for _, sha := range []string{bad.sha(), sum(bad.body)} {
			if _, err := fx.blobs.Stat(ctx, sha); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("blob %s: %v", sha, err)
			}
		}
		f, _, err := st.UpstreamFileBySHA(ctx, bad.sha())
		if err != nil || !f.StoredAt.IsZero() {
			t.Fatalf("row: %+v, %v", f, err)
		}
		var mismatches int
		err = st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE tag = 'upstream:file:hash_mismatch' AND project_name = 'demo'`).Scan(&mismatches)
		if err != nil || mismatches != 1 {
			t.Fatalf("%d mismatch events, %v", mismatches, err)
		}
	})
}

func TestProxyRestartWithTheUpstreamDown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		w := wheel("demo", "1.0", t0.Add(-time.Hour))
		up.set("demo", w)
		fx := newProxyFixture(t, st, upstream.ProxyConfig{}, up)
		p := fx.proxy(t)
		if _, err := p.Project(ctx, "demo"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.File(ctx, w.sha(), w.name, false); err != nil {
			t.Fatal(err)
		}
		p.Close()
		up.setDown(true)
		fx.clk.Add(upstream.DefaultTTL + time.Second)
		p = fx.proxy(t) // a restart
		page, err := p.Project(ctx, "demo")
		if err != nil || !page.Stale || filenames(t, page) != w.name {
			t.Fatalf("after a restart, down: %v, %+v", err, page)
		}
		f, err := p.File(ctx, w.sha(), w.name, false)
		if err != nil || f.Key != w.sha() || f.Size != int64(len(w.body)) {
			t.Fatalf("stored file: %v, %+v", err, f)
		}
		if _, err := p.Project(ctx, "never"); !problem.Is(err, problem.Unavailable) {
			t.Fatalf("never cached: %v", err)
		}
	})
}

func TestProxyRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		for _, name := range []string{"acme-secret", "demo", "other"} {
			up.set(name, wheel(name, "1.0", t0))
		}
		for _, r := range []store.UpstreamRule{{Pattern: "acme-*", Action: store.RuleDeny}, {Pattern: "demo", Action: store.RuleAllow}} {
			if err := st.PutUpstreamRule(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, allowList := range []bool{false, true} {
			p := newProxyFixture(t, st, upstream.ProxyConfig{AllowList: allowList}, up).proxy(t)
			for name, proxied := range map[string]bool{"acme-secret": false, "demo": true, "other": !allowList} {
				_, err := p.Project(ctx, name)
				if proxied && err != nil || !proxied && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("allow-list %v, %s: %v", allowList, name, err)
				}
			}
		}
		p := newProxyFixture(t, st, upstream.ProxyConfig{}, up).proxy(t)
		for _, name := range []string{"Demo", "de_mo", "", "-x"} {
			if _, err := p.Project(ctx, name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%q: %v", name, err)
			}
		}
		if n := up.count("/simple/acme-secret/"); n != 0 {
			t.Fatalf("a denied name was asked %d times", n)
		}
	})
}

func TestProxyName(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		up.set("demo", wheel("demo", "1.0", t0))
		p := newProxyFixture(t, st, upstream.ProxyConfig{}, up).proxy(t)
		if n, err := p.Name(ctx, "demo"); err != nil || !n.Exists || n.Upstream != up.root() {
			t.Fatalf("demo: %+v, %v", n, err)
		}
		if n, err := p.Name(ctx, "absent"); err != nil || n.Exists || n.Unknown {
			t.Fatalf("absent: %+v, %v", n, err)
		}
		up.setDown(true)
		if n, err := p.Name(ctx, "unasked"); err != nil || !n.Unknown {
			t.Fatalf("down: %+v, %v", n, err)
		}
	})
}

func audit0Meta() audit.Meta { return audit.Meta{IP: "192.0.2.1", UserAgent: "test"} }

// TestProxyMaxFetches: beyond MaxFetches, a file fetch waits, then
// answers unavailable; the fetches under way are not disturbed.
func TestProxyMaxFetches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		a, b := wheel("demo", "1.0", t0.Add(-time.Hour)), wheel("demo", "2.0", t0.Add(-time.Hour))
		up.set("demo", a, b)
		p := newProxyFixture(t, st, upstream.ProxyConfig{MaxFetches: 1}, up).proxy(t)
		if _, err := p.Project(ctx, "demo"); err != nil {
			t.Fatal(err)
		}
		up.mu.Lock()
		up.hold, up.entered = make(chan struct{}), make(chan string, 10)
		up.mu.Unlock()
		done := make(chan error, 1)
		go func() {
			_, err := p.File(ctx, a.sha(), a.name, false)
			done <- err
		}()
		if path := <-up.entered; path != "/files/"+a.name {
			t.Fatalf("fetched %s", path)
		}
		if _, err := p.File(ctx, b.sha(), b.name, false); !problem.Is(err, problem.Unavailable) {
			t.Fatalf("beyond the bound: %v", err)
		}
		close(up.hold)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := p.File(ctx, b.sha(), b.name, false); err != nil {
			t.Fatalf("after: %v", err)
		}
	})
}

// TestProxyMaxPageFetches: page fetches beyond MaxPageFetches wait for a
// slot, then are answered as an upstream that does not answer (503 for a
// name never fetched), so a flood of made-up names cannot pile up
// requests to the upstream.
func TestProxyMaxPageFetches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		up.set("one", wheel("one", "1.0", t0.Add(-time.Hour)))
		up.set("two", wheel("two", "1.0", t0.Add(-time.Hour)))
		p := newProxyFixture(t, st, upstream.ProxyConfig{MaxPageFetches: 1}, up).proxy(t)
		up.mu.Lock()
		up.hold, up.entered = make(chan struct{}), make(chan string, 10)
		up.mu.Unlock()
		done := make(chan error, 1)
		go func() {
			_, err := p.Project(ctx, "one")
			done <- err
		}()
		if path := <-up.entered; path != "/simple/one/" {
			t.Fatalf("fetched %s", path)
		}
		if _, err := p.Project(ctx, "two"); !problem.Is(err, problem.Unavailable) {
			t.Fatalf("beyond the bound: %v", err)
		}
		if n := up.count("/simple/two/"); n != 0 {
			t.Fatalf("the upstream was asked for two %d times while the slot was taken", n)
		}
		close(up.hold)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := p.Project(ctx, "two"); err != nil {
			t.Fatalf("after: %v", err)
		}
	})
}
