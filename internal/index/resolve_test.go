package index

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// fakeUpstream is an Upstream that lists the projects of pages and the
// files of files, and records what it is asked.
type fakeUpstream struct {
	mu          sync.Mutex
	pages       map[string]*ProxiedPage
	files       map[string]*ProxiedFile // by filename
	unavailable bool
	projects    []string // Project calls
	fileCalls   []string // File calls, by filename
	quarantined map[string]string
	invalidated []string
}

func newFakeUpstream(names ...string) *fakeUpstream {
	u := &fakeUpstream{pages: map[string]*ProxiedPage{}, files: map[string]*ProxiedFile{}, quarantined: map[string]string{}}
	for i, n := range names {
		u.pages[n] = &ProxiedPage{UpstreamProjectID: int64(i + 1), Name: n, HTML: newPage([]byte("html " + n)),
			JSON: newPage([]byte("json " + n)), API: newPage([]byte("api " + n))}
		u.files[n+"-0.9.tar.gz"] = &ProxiedFile{UpstreamProjectID: int64(i + 1), Project: n, Filename: n + "-0.9.tar.gz",
			Key: "sha-" + n, Size: 1}
	}
	return u
}

func (u *fakeUpstream) Project(_ context.Context, normalized string) (*ProxiedPage, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.projects = append(u.projects, normalized)
	if u.unavailable {
		return nil, problem.Errorf(problem.Unavailable, "The upstream index is not answering.")
	}
	if p := u.pages[normalized]; p != nil {
		return p, nil
	}
	return nil, store.ErrNotFound
}

func (u *fakeUpstream) File(_ context.Context, sha256, filename string, metadata bool) (*ProxiedFile, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.fileCalls = append(u.fileCalls, filename)
	if f := u.files[filename]; f != nil && f.Key == sha256 && !metadata {
		return f, nil
	}
	return nil, store.ErrNotFound
}

func (u *fakeUpstream) Name(_ context.Context, normalized string) (UpstreamName, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return UpstreamName{Exists: u.pages[normalized] != nil}, nil
}

func (u *fakeUpstream) Quarantine(_ context.Context, _ *store.User, _ audit.Meta, normalized, reason string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.quarantined[normalized] = reason
	return nil
}

func (u *fakeUpstream) Release(_ context.Context, _ *store.User, _ audit.Meta, normalized string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.quarantined[normalized]; !ok {
		return problem.Errorf(problem.Conflict, "Project '%s' is not quarantined.", normalized)
	}
	delete(u.quarantined, normalized)
	return nil
}

func (u *fakeUpstream) Invalidate(normalized string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.invalidated = append(u.invalidated, normalized)
}

// asked returns the names Project was asked, and forgets them.
func (u *fakeUpstream) asked() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.projects
	u.projects = nil
	return p
}

// resolveNameCheck holds "lookalike" as a look-alike, and "upheld" as a
// name an upstream lists (LocalNamesAsk).
func resolveNameCheck(_ context.Context, name string) (*NameMatch, error) {
	switch name {
	case "lookalike":
		return &NameMatch{Target: "popular", TargetRank: 1, Kind: "omission"}, nil
	case "upheld":
		return &NameMatch{Target: "https://upstream.test/simple/", Kind: store.ReviewUpstreamName}, nil
	}
	return nil, nil
}

// TestResolveProject: a name that exists locally, in any state, is
// answered by the local project or not at all, and the upstream is never
// asked for it; prohibited names, deleted projects' and names colliding
// with a local project once ultranormalized are not proxied; a project
// held for taking an upstream name does not shadow it; the rest is the
// upstream's, read by any reader (a scoped token too).
func TestResolveProject(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		m := audit.Meta{IP: "192.0.2.7"}
		// Every name below is listed upstream; the local ones were let take
		// their names (LocalNamesAllow).
		up := newFakeUpstream("local", "lookalike", "upheld", "quarantined", "private", "banned", "b-anned", "gone",
			"my-pkg", "proxied", "late")
		f := newFixture(t, d, Config{Upstream: up, LocalNames: LocalNamesAllow, NameCheck: resolveNameCheck, LookalikePolicy: LookalikeHold,
			ReadAccess: ReadAuthenticated})
		owner := f.user("owner")
		for _, n := range []string{"local", "lookalike", "upheld", "quarantined", "private", "gone", "mypkg"} {
			f.mustSdist(owner, disttest.Dist{Name: n, Version: "1.0"})
		}
		storetest.Must(t, f.svc.Quarantine(ctx, nil, m, "quarantined", "malware"))
		storetest.Must(t, f.svc.ProhibitName(ctx, nil, m, "banned", ""))
		storetest.Must(t, f.svc.DeleteProject(ctx, owner, m, "gone", "gone"))
		// A reader scoped to local and quarantined: "private" is a local
		// project it may not read.
		reader := f.user("reader")
		verify(t, f, reader)
		nt, err := f.svc.CreateToken(ctx, &Principal{User: reader.User, RecentAuth: true, Meta: m}, m,
			TokenRequest{Name: "ci", ReadOnly: true, Projects: []string{"local", "quarantined"}})
		storetest.Must(t, err)
		r, err := f.svc.ReaderForToken(ctx, nt.Secret, m)
		storetest.Must(t, err)

		const (
			local = iota
			proxied
			notFound
		)
		for _, c := range []struct {
			name  string
			want  int
			asked bool // the upstream is asked
		}{
			{"local", local, false},
			{"lookalike", notFound, false}, // held as a look-alike
			{"upheld", proxied, true},      // held for taking an upstream name
			{"quarantined", local, false},
			{"private", notFound, false}, // exists, r may not read it
			{"banned", notFound, false},  // prohibited
			{"b-anned", notFound, false}, // prohibited once ultranormalized
			{"gone", notFound, false},    // a deleted project's name
			{"my-pkg", notFound, false},  // collides with mypkg
			{"proxied", proxied, true},
			{"nowhere", notFound, true},
		} {
			for range 2 { // the second time from what is remembered
				lp, pp, err := f.svc.ResolveProject(ctx, r, c.name)
				got := notFound
				switch {
				case err == nil && lp != nil && pp == nil && lp.View.Project.NormalizedName == c.name:
					got = local
				case err == nil && lp == nil && pp != nil && pp.Name == c.name:
					got = proxied
				case !errors.Is(err, store.ErrNotFound):
					t.Fatalf("%s: %v, %v, %v", c.name, lp, pp, err)
				}
				if got != c.want {
					t.Errorf("%s resolves to %d (%v), want %d", c.name, got, err, c.want)
				}
				if asked := up.asked(); !slices.Equal(asked, map[bool][]string{true: {c.name}}[c.asked]) {
					t.Errorf("%s: the upstream was asked %q", c.name, asked)
				}
			}
		}
		if f.svc.cache.source("proxied") != sourceUpstream || f.svc.cache.source("banned") != sourceNone {
			t.Error("the resolutions of proxied names are not kept in memory")
		}

		// A local project created since shadows the upstream at once,
		// its name and its files.
		if _, pf, err := f.svc.ResolveFile(ctx, r, "sha-late", "late-0.9.tar.gz", false); err != nil || pf == nil {
			t.Fatalf("proxied file: %v, %v", pf, err)
		}
		f.mustSdist(owner, disttest.Dist{Name: "late", Version: "2.0"})
		if _, _, err := f.svc.ResolveProject(ctx, r, "late"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("late after its local creation: %v, want not found (r may not read it)", err)
		}
		if _, _, err := f.svc.ResolveFile(ctx, r, "sha-late", "late-0.9.tar.gz", false); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("proxied file of a project now local: %v, want not found", err)
		}
		if asked := up.asked(); len(asked) != 0 {
			t.Errorf("the upstream was asked %q for a local name", asked)
		}

		// The upstream's refusal to answer is told as it is.
		up.mu.Lock()
		up.unavailable = true
		up.mu.Unlock()
		if _, _, err := f.svc.ResolveProject(ctx, r, "proxied"); problem.KindOf(err) != problem.Unavailable {
			t.Errorf("upstream down: %v, want unavailable", err)
		}
		up.asked()

		// Without an upstream, the local projects alone.
		plain := newFixture(t, d, Config{})
		plain.mustSdist(plain.user("owner"), disttest.Dist{Name: "local", Version: "1.0"})
		if lp, _, err := plain.svc.ResolveProject(ctx, plain.svc.Anonymous(), "local"); err != nil || lp == nil {
			t.Errorf("local without an upstream: %v", err)
		}
		if _, _, err := plain.svc.ResolveProject(ctx, plain.svc.Anonymous(), "proxied"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("no upstream: %v, want not found", err)
		}
	})
}

// TestResolveFile: a local file of the name answers alone (its digest
// must match; a withheld one is not found), and the upstream is never
// asked for it; a proxied file is served while its project resolves to
// the upstream (a held upstream name included).
func TestResolveFile(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		m := audit.Meta{IP: "192.0.2.7"}
		up := newFakeUpstream("proxied", "upheld", "quarantined")
		f := newFixture(t, d, Config{Upstream: up, LocalNames: LocalNamesAllow, NameCheck: resolveNameCheck, LookalikePolicy: LookalikeHold})
		owner := f.user("owner")
		own := f.mustSdist(owner, disttest.Dist{Name: "local", Version: "1.0"})
		held := f.mustSdist(owner, disttest.Dist{Name: "upheld", Version: "1.0"})
		q := f.mustSdist(owner, disttest.Dist{Name: "quarantined", Version: "1.0"})
		storetest.Must(t, f.svc.Quarantine(ctx, nil, m, "quarantined", "malware"))
		row := func(filename string) *store.File {
			fr, err := f.st.FileByFilename(ctx, filename)
			storetest.Must(t, err)
			return fr
		}
		anon := f.svc.Anonymous()
		lf, pf, err := f.svc.ResolveFile(ctx, anon, row(own.Filename).SHA256, own.Filename, false)
		if err != nil || lf == nil || pf != nil {
			t.Fatalf("local file: %v, %v, %v", lf, pf, err)
		}
		for _, c := range []struct{ sha, filename string }{
			{"0000", own.Filename},                        // another digest
			{row(q.Filename).SHA256, q.Filename},          // quarantined
			{row(held.Filename).SHA256, held.Filename},    // held
			{"sha-quarantined", "quarantined-0.9.tar.gz"}, // proxied, of a local project's name
			{"sha-proxied", "proxied-2.0.tar.gz"},         // not listed upstream
		} {
			if _, _, err := f.svc.ResolveFile(ctx, anon, c.sha, c.filename, false); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %v, want not found", c.filename, err)
			}
		}
		for _, name := range []string{"proxied", "upheld"} {
			for range 2 {
				lf, pf, err := f.svc.ResolveFile(ctx, anon, "sha-"+name, name+"-0.9.tar.gz", false)
				if err != nil || lf != nil || pf == nil || pf.Project != name {
					t.Errorf("proxied file of %s: %v, %v, %v", name, lf, pf, err)
				}
			}
		}
		up.mu.Lock()
		calls := up.fileCalls
		up.mu.Unlock()
		// Never for a local file's name; for a proxied file whose
		// project is local, its answer is not served.
		if want := []string{"quarantined-0.9.tar.gz", "proxied-2.0.tar.gz", "proxied-0.9.tar.gz", "proxied-0.9.tar.gz",
			"upheld-0.9.tar.gz", "upheld-0.9.tar.gz"}; !slices.Equal(calls, want) {
			t.Errorf("the upstream was asked for the files %q, want %q", calls, want)
		}
	})
}

// TestResolveFollowsJournal: another replica's changes reach what this
// one remembers of names through the journal: a prohibition, and the
// proxy's own entries, which Invalidate the upstream's page.
func TestResolveFollowsJournal(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		m := audit.Meta{IP: "192.0.2.7"}
		up := newFakeUpstream("proxied", "other")
		f := newFixture(t, d, Config{Upstream: up})
		// A second replica on the same database.
		replica := New(f.st, f.svc.blobs, Config{BaseURL: "http://index.test", Upstream: up}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		storetest.Must(t, replica.cache.startFollowing(ctx))
		anon := f.svc.Anonymous()
		for _, svc := range []*Service{f.svc, replica} {
			for _, name := range []string{"proxied", "other"} {
				if _, pp, err := svc.ResolveProject(ctx, anon, name); err != nil || pp == nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		}
		storetest.Must(t, f.svc.ProhibitName(ctx, nil, m, "proxied", "taken down"))
		if _, _, err := f.svc.ResolveProject(ctx, anon, "proxied"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("prohibited on this replica: %v, want not found at once", err)
		}
		for _, action := range []string{store.ActionUpstreamRefresh, store.ActionUpstreamQuarantine, store.ActionUpstreamRelease} {
			_, err := f.st.AddJournal(ctx, 1, "other", action, time.Now())
			storetest.Must(t, err)
		}
		storetest.Must(t, replica.cache.catchUp(ctx))
		if _, _, err := replica.ResolveProject(ctx, anon, "proxied"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("prohibited on another replica: %v, want not found", err)
		}
		up.mu.Lock()
		inv := up.invalidated
		up.mu.Unlock()
		if !slices.Equal(inv, []string{"other", "other", "other"}) {
			t.Errorf("Upstream.Invalidate calls %q", inv)
		}
		// And lifting it lets the name through again.
		storetest.Must(t, f.svc.LiftProhibition(ctx, nil, m, "proxied"))
		storetest.Must(t, replica.cache.catchUp(ctx))
		if _, pp, err := replica.ResolveProject(ctx, anon, "proxied"); err != nil || pp == nil {
			t.Errorf("prohibition lifted: %v", err)
		}
	})
}

// TestQuarantineProxied: an administrator's quarantine and release of a
// name of no local project go to the upstream's side; of a local one,
// they stay local; without an upstream, the name is not found.
func TestQuarantineProxied(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		m := audit.Meta{IP: "192.0.2.7"}
		up := newFakeUpstream("proxied")
		f := newFixture(t, d, Config{Upstream: up})
		f.mustSdist(f.user("owner"), disttest.Dist{Name: "local", Version: "1.0"})
		if err := f.svc.Quarantine(ctx, nil, m, "Proxied", ""); problem.KindOf(err) != problem.Invalid {
			t.Errorf("quarantine without a reason: %v", err)
		}
		for _, name := range []string{"Proxied", "never-fetched", "local"} {
			storetest.Must(t, f.svc.Quarantine(ctx, nil, m, name, "malware"))
		}
		if want := map[string]string{"proxied": "malware", "never-fetched": "malware"}; !maps.Equal(up.quarantined, want) {
			t.Errorf("upstream quarantined %v, want %v", up.quarantined, want)
		}
		if p, err := f.st.ProjectByName(ctx, "local"); err != nil || p.Status != store.StatusQuarantined {
			t.Errorf("local project: %v, %v", p, err)
		}
		storetest.Must(t, f.svc.ReleaseFromQuarantine(ctx, nil, m, "proxied"))
		storetest.Must(t, f.svc.ReleaseFromQuarantine(ctx, nil, m, "local"))
		if want := map[string]string{"never-fetched": "malware"}; !maps.Equal(up.quarantined, want) {
			t.Errorf("upstream quarantined %v after a release, want %v", up.quarantined, want)
		}

		plain := newFixture(t, d, Config{})
		if err := plain.svc.Quarantine(ctx, nil, m, "proxied", "malware"); problem.KindOf(err) != problem.NotFound {
			t.Errorf("no upstream: %v, want not found", err)
		}
	})
}

// TestResolveLookalikeKeepsUpstream: a stranger cannot take an upstream
// project this proxy served off it with a local look-alike that
// collides with it once ultranormalized (co-lorama for colorama), nor
// through the prohibition a rejected look-alike leaves (f0obar for
// foobar). A collision or a look-alike prohibition older than the
// proxy's first answer for the name, or the name's exact prohibition,
// still blocks it.
func TestResolveLookalikeKeepsUpstream(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		m := audit.Meta{IP: "192.0.2.7"}
		up := newFakeUpstream("colorama", "foobar", "acme-lib", "banned")
		check := func(_ context.Context, name string) (*NameMatch, error) {
			if name == "f0obar" {
				return &NameMatch{Target: "foobar", TargetRank: 1, Kind: "homoglyph"}, nil
			}
			return nil, nil
		}
		f := newFixture(t, d, Config{Upstream: up, NameCheck: check, LookalikePolicy: LookalikeHold})
		// The proxy answered colorama, foobar and banned before the local
		// projects below existed; acme-lib only after acmelib did.
		past, later := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		for name, at := range map[string]time.Time{"colorama": past, "foobar": past, "banned": past, "acme-lib": later} {
			_, err := f.st.SaveUpstreamPage(ctx, &store.UpstreamProject{Name: name, NormalizedName: name,
				Upstream: "https://upstream.test/simple/", Found: true}, nil, at)
			storetest.Must(t, err)
		}
		stranger := f.user("stranger")
		for _, n := range []string{"co-lorama", "f0obar", "acmelib"} {
			if _, err := f.uploadSdist(stranger, disttest.Dist{Name: n, Version: "1.0"}); err != nil {
				t.Fatalf("upload %s: %v", n, err)
			}
		}
		if _, err := f.svc.RejectName(ctx, nil, m, "f0obar"); err != nil {
			t.Fatalf("reject f0obar: %v", err)
		}
		storetest.Must(t, f.svc.ProhibitName(ctx, nil, m, "banned", "taken down"))
		anon := f.svc.Anonymous()
		for _, c := range []struct {
			name    string
			proxied bool
		}{
			{"colorama", true}, // a look-alike created since does not hide it
			{"foobar", true},   // nor a rejected look-alike's prohibition
			{"acme-lib", false},
			{"banned", false}, // prohibited itself
		} {
			_, pp, err := f.svc.ResolveProject(ctx, anon, c.name)
			switch {
			case c.proxied && (err != nil || pp == nil):
				t.Errorf("%s: %v, want the upstream's project", c.name, err)
			case !c.proxied && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s: %v, %v, want not found", c.name, pp, err)
			}
		}
	})
}

// closeCounter is a ProxiedFile.Stream that counts its Close calls.
type closeCounter struct {
	io.Reader
	mu     sync.Mutex
	closes int
}

func (c *closeCounter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closes++
	return nil
}

// TestResolveFileClosesRefusedStream: a streamed first fetch the proxy
// started for a file whose project resolves locally now is not served,
// and its stream is closed (else its spool stays open for ever).
func TestResolveFileClosesRefusedStream(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		up := newFakeUpstream("late")
		stream := &closeCounter{Reader: strings.NewReader("x")}
		up.files["late-0.9.tar.gz"].Stream = stream
		f := newFixture(t, d, Config{Upstream: up, LocalNames: LocalNamesAllow})
		f.mustSdist(f.user("owner"), disttest.Dist{Name: "late", Version: "2.0"})
		if _, _, err := f.svc.ResolveFile(ctx, f.svc.Anonymous(), "sha-late", "late-0.9.tar.gz", false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("proxied file of a local project: %v, want not found", err)
		}
		stream.mu.Lock()
		defer stream.mu.Unlock()
		if stream.closes != 1 {
			t.Errorf("the refused stream was closed %d times, want 1", stream.closes)
		}
	})
}
