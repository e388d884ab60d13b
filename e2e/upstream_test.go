package e2e

import (
	"encoding/base64"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUpstream runs the proxy of an upstream index with the real clients.
// The upstream U is another cheeseshop process (SQLite, its own data),
// and for the HTML-only path nginx serving a static PEP 503 tree; P is
// the proxy under test, on the test's database:
//
//   - install: pip installs cheese-app, uploaded to P, whose dependency
//     cheese-dep exists only on U: pip fetches it from P, byte for byte
//     U's;
//   - confusion: a project of P never takes anything from U, even when U
//     publishes a higher version under its name, and U is never asked
//     about it; a new local name that U has is held for an administrator
//     (--upstream-local-names ask, the default), or refused (refuse);
//   - min-age: with --upstream-min-age 7d a release on U younger than that
//     is not installable from P2 until P2's clock (the test clock) moved
//     past it, without a restart; an administrator's exemption lifts it
//     at once;
//   - html: an upstream that only serves PEP 503 HTML (nginx) works, and a
//     file whose listed SHA-256 is wrong is refused and not stored;
//   - offline: U stopped, the same install still works from P, and after
//     P restarts; a name P never fetched is a 503 with Retry-After.
func TestUpstream(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		upstreamProxy(t, serverOptions{})
	})
	t.Run("postgres", func(t *testing.T) {
		upstreamProxy(t, serverOptions{Database: storetest.URL(t, store.Postgres)})
	})
}

// upstreamWheels are the wheels of TestUpstream besides pythonDists'.
type upstreamWheels struct {
	// Secret is cheese-secret 1.0, a project of P; SecretUp is 9.9,
	// published on U under the same name. Private and PrivateUp
	// likewise, the project of P being private.
	Secret, SecretUp, Private, PrivateUp bigWheel
	// SharedUp is cheese-shared 1.0 on U, SharedLocal 2.0 uploaded to P
	// (held: U has the name); RefusedUp and RefusedLocal likewise under
	// --upstream-local-names refuse.
	SharedUp, SharedLocal, RefusedUp, RefusedLocal bigWheel
	// Young and Young2 are on U, younger than P2's minimum age.
	Young, Young2 bigWheel
	// Bad is listed by the HTML upstream with a wrong SHA-256.
	Bad bigWheel
}

func newUpstreamWheels(t *testing.T) *upstreamWheels {
	t.Helper()
	dir := t.TempDir()
	wheel := func(name, version string) bigWheel {
		t.Helper()
		w, err := writeDistWheel(dir, disttest.Dist{Name: name, Version: version, Summary: "An upstream proxy test", RequiresPython: ">=3.8"})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	return &upstreamWheels{
		Secret: wheel("cheese-secret", "1.0"), SecretUp: wheel("cheese-secret", "9.9"),
		Private: wheel("cheese-private", "1.0"), PrivateUp: wheel("cheese-private", "9.9"),
		SharedUp: wheel("cheese-shared", "1.0"), SharedLocal: wheel("cheese-shared", "2.0"),
		RefusedUp: wheel("cheese-refused", "1.0"), RefusedLocal: wheel("cheese-refused", "2.0"),
		Young: wheel("cheese-young", "1.0"), Young2: wheel("cheese-young2", "1.0"),
		Bad: wheel("cheese-bad", "1.0"),
	}
}

// pipDownloaded is what pip downloaded from an index: the URLs it says
// it fetched ("Downloading URL (size)").
var pipDownloaded = regexp.MustCompile(`(?m)Downloading (\S+)`)

func upstreamProxy(t *testing.T, opts serverOptions) {
	// Servers that outlive a case are started with this test's t.
	outer := t
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	w := newUpstreamWheels(t)

	// U, the upstream: its own SQLite index.
	u := startServer(t, serverOptions{})
	u.createUser(t, "ursula")
	ursula := u.token(t, "ursula")

	// P, the proxy: the test's database, U behind it; pages older than a
	// second are fetched again (and served stale when U is down).
	pArgs := append(opts.Args, "--upstream", u.URL+"/simple/", "--upstream-ttl", "1s", "--follow-interval", followInterval.String())
	pOpts := opts
	pOpts.Args = pArgs
	// With U stopped (offline), P serves what it has and says so.
	pOpts.ExpectLog = []string{"upstream not answering", "request refused"}
	p := startServer(t, pOpts)
	p.createUser(t, "alice")
	alice := p.token(t, "alice")
	// P's own projects come first: before U has any of their names.
	mustTwine(t, p, alice, append(d.App.Files(), w.Secret.path, w.Private.path)...)
	uLogFrom := len(u.Log())
	mustTwine(t, u, ursula, append(d.Dep.Files(), w.SecretUp.path, w.PrivateUp.path, w.SharedUp.path, w.RefusedUp.path, w.Young.path, w.Young2.path)...)
	// askedU fails the test if P asked U about project since its local
	// one was created.
	askedU := func(t *testing.T, project string) {
		t.Helper()
		for line := range strings.SplitSeq(u.Log()[uLogFrom:], "\n") {
			if strings.Contains(line, "msg=request") && (strings.Contains(line, project) || strings.Contains(line, distName(project))) {
				t.Errorf("P asked U about its own project %s:\n%s", project, line)
			}
		}
	}

	v := newVenv(t)
	download := func(index, project string, more ...string) (cmdResult, []string) {
		t.Helper()
		dir := t.TempDir()
		args := append([]string{"download", "--no-deps", "--index-url", index, "-d", dir, project}, more...)
		return v.pip(t, args...), readDirNames(t, dir)
	}

	t.Run("install", func(t *testing.T) {
		fresh := newVenv(t)
		r := fresh.mustPip(t, "install", "--no-input", "--index-url", p.URL+"/simple/", "cheese-app")
		urls := pipDownloaded.FindAllStringSubmatch(r.Out, -1)
		depURL := ""
		for _, m := range urls {
			if !strings.HasPrefix(m[1], p.URL+"/") {
				t.Errorf("pip downloaded %s, not from P (%s)", m[1], p.URL)
			}
			if strings.Contains(m[1], "/cheese_dep-1.0-py3-none-any.whl") {
				depURL = m[1]
			}
		}
		if depURL == "" {
			t.Fatalf("pip did not download cheese-dep's wheel through P:\n%s", r.Out)
		}
		fresh.python(t, "import cheese_app, cheese_dep")
		if !p.waitLog(`msg="upstream file stored" component=upstream project=cheese-dep file=cheese_dep-1.0-py3-none-any.whl`) {
			t.Error("P did not log that it stored cheese-dep's wheel")
		}
		want := sha256File(t, d.Dep.Wheel)
		resp, fromP := p.get(t, depURL)
		_, fromU := u.get(t, "/files/"+want+"/"+filepath.Base(d.Dep.Wheel))
		if resp.StatusCode != http.StatusOK || sha256Hex(fromP) != want || sha256Hex(fromU) != want {
			t.Errorf("cheese-dep's wheel: from P %s sha256 %s, from U sha256 %s, uploaded %s", resp.Status, sha256Hex(fromP), sha256Hex(fromU), want)
		}
	})

	t.Run("confusion", func(t *testing.T) {
		// pip installs P's cheese-secret, never U's higher version, nor
		// any file of it.
		r, got := download(p.URL+"/simple/", "cheese-secret")
		if r.Code != 0 || len(got) != 1 || got[0] != filepath.Base(w.Secret.path) {
			t.Errorf("pip download cheese-secret: exit %d, got %v, want only P's %s\n%s", r.Code, got, filepath.Base(w.Secret.path), r.Out)
		}
		upFile := "/files/" + w.SecretUp.sha256 + "/" + filepath.Base(w.SecretUp.path)
		if resp, body := p.get(t, upFile); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s (U's cheese-secret 9.9) on P: %d, want 404\n%s", upFile, resp.StatusCode, body)
		}
		if _, body := p.get(t, "/simple/cheese-secret/"); strings.Contains(string(body), "9.9") {
			t.Errorf("P's page of cheese-secret lists U's 9.9:\n%s", body)
		}
		askedU(t, "cheese-secret")

		// A new local project under a name U has: held (ask, the default)
		// — the upload succeeds and says why — and pip keeps getting U's
		// until an administrator approves it.
		r = twineVerbose(t, p, alice, w.SharedLocal.path)
		if r.Code != 0 || !strings.Contains(r.Flat(), "held") {
			t.Errorf("twine upload of cheese-shared, a name U has: exit %d, want 0 and the hold explained\n%s", r.Code, r.Out)
		}
		if r, got := download(p.URL+"/simple/", "cheese-shared"); r.Code != 0 || len(got) != 1 || got[0] != filepath.Base(w.SharedUp.path) {
			t.Errorf("pip download cheese-shared while the local one is held: exit %d, got %v, want U's %s\n%s",
				r.Code, got, filepath.Base(w.SharedUp.path), r.Out)
		}
		p.admin(t, "lookalike", "approve", "cheese-shared")
		waitListed(t, p, "cheese-shared", filepath.Base(w.SharedLocal.path))
		if r, got := download(p.URL+"/simple/", "cheese-shared"); r.Code != 0 || len(got) != 1 || got[0] != filepath.Base(w.SharedLocal.path) {
			t.Errorf("pip download cheese-shared once approved: exit %d, got %v, want P's %s\n%s",
				r.Code, got, filepath.Base(w.SharedLocal.path), r.Out)
		}

		// --upstream-local-names refuse: the upload is refused, and twine
		// says why.
		p.stop()
		refuse := pOpts
		refuse.Data, refuse.Args = p.Data, append(pArgs[:len(pArgs):len(pArgs)], "--upstream-local-names", "refuse")
		p = startServer(outer, refuse)
		r = twineUpload(t, p, alice, w.RefusedLocal.path)
		if r.Code == 0 || !strings.Contains(r.Flat(), "400") || !strings.Contains(r.Flat(), "cheese-refused") {
			t.Errorf("twine upload of cheese-refused, a name U has, under refuse: exit %d, want the 400 refusal naming it\n%s", r.Code, r.Out)
		}
	})

	t.Run("private", func(t *testing.T) {
		// A private project of P: its collaborators install it, never
		// U's higher version; for everybody else it does not exist, and
		// U's project is not served in its place either.
		p.admin(t, "project", "visibility", "cheese-private", "private")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if resp, _ := p.get(t, "/simple/cheese-private/"); resp.StatusCode == http.StatusNotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("cheese-private, made private, is still read anonymously after 10s")
			}
		}
		read := strings.TrimSpace(p.admin(t, "token", "create", "--username", "alice", "--read"))
		withToken := "http://__token__:" + read + "@" + strings.TrimPrefix(p.URL, "http://") + "/simple/"
		r, got := download(withToken, "cheese-private")
		if r.Code != 0 || len(got) != 1 || got[0] != filepath.Base(w.Private.path) {
			t.Errorf("pip download cheese-private with its owner's read token: exit %d, got %v, want only P's %s\n%s", r.Code, got, filepath.Base(w.Private.path), r.Out)
		}
		r, got = download(p.URL+"/simple/", "cheese-private")
		if r.Code == 0 || !strings.Contains(r.Out, "No matching distribution found for cheese-private") {
			t.Errorf("anonymous pip download of the private cheese-private: exit %d, got %v\n%s", r.Code, got, r.Out)
		}
		upFile := "/files/" + w.PrivateUp.sha256 + "/" + filepath.Base(w.PrivateUp.path)
		for _, path := range []string{"/simple/cheese-private/", "/pypi/cheese-private/json", upFile} {
			if resp, body := p.get(t, path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("anonymous GET %s on P: %d, want 404\n%s", path, resp.StatusCode, body)
			}
		}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+read))
		if resp, body := p.get(t, upFile, "Authorization", auth); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s (U's cheese-private 9.9) on P with the owner's token: %d, want 404\n%s", upFile, resp.StatusCode, body)
		}
		askedU(t, "cheese-private")
	})

	t.Run("min-age", func(t *testing.T) {
		clock := filepath.Join(t.TempDir(), "clock")
		p2Opts := serverOptions{Binary: clockBinary(t), Env: []string{"CHEESESHOP_TEST_CLOCK_FILE=" + clock},
			Args:      []string{"--upstream", u.URL + "/simple/", "--upstream-min-age", "7d"},
			ExpectLog: []string{"a minimum release age applies to upstream files"}}
		if opts.Database != "" {
			p2Opts.Database = storetest.URL(t, store.Postgres)
		}
		p2 := startServer(t, p2Opts)
		index := p2.URL + "/simple/"
		young := func(project string) {
			t.Helper()
			if r, got := download(index, project); r.Code == 0 || !strings.Contains(r.Out, "No matching distribution found for "+project) {
				t.Errorf("pip download of %s, just published on U, from P2 with a minimum age of 7 days: exit %d, got %v\n%s", project, r.Code, got, r.Out)
			}
		}
		// An administrator's exemption lifts the minimum age at once (P2
		// reads the rules again within seconds: the other pip runs
		// meanwhile).
		young("cheese-young2")
		p2.admin(t, "upstream", "allow", "cheese-young2", "--skip-min-age", "--reason", "test")
		young("cheese-young")
		waitListed(t, p2, "cheese-young2", filepath.Base(w.Young2.path))
		if r, got := download(index, "cheese-young2"); r.Code != 0 || len(got) != 1 {
			t.Errorf("pip download of cheese-young2 once exempted from the minimum age: exit %d, got %v\n%s", r.Code, got, r.Out)
		}
		// A week and an hour later, without a restart.
		moveClock(t, clock, 7*24*time.Hour+time.Hour)
		waitListed(t, p2, "cheese-young", filepath.Base(w.Young.path))
		if r, got := download(index, "cheese-young"); r.Code != 0 || len(got) != 1 {
			t.Errorf("pip download of cheese-young once 7 days old on P2's clock: exit %d, got %v\n%s", r.Code, got, r.Out)
		}
	})

	t.Run("html", func(t *testing.T) {
		// A static PEP 503 tree: cheese-dep as PyPI's HTML lists it, and
		// cheese-bad with a wrong SHA-256.
		root := t.TempDir()
		depSHA, wrongSHA := sha256File(t, d.Dep.Wheel), sha256Hex([]byte("not cheese-bad's wheel"))
		page := func(wheel, sha string) string {
			name := filepath.Base(wheel)
			return `<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"><title>Links</title></head><body>
<a href="../../packages/` + name + `#sha256=` + sha + `" data-requires-python="&gt;=3.8">` + name + `</a><br>
</body></html>
`
		}
		for path, content := range map[string]string{
			"simple/cheese-dep/index.html": page(d.Dep.Wheel, depSHA),
			"simple/cheese-bad/index.html": page(w.Bad.path, wrongSHA),
		} {
			writeFileAll(t, filepath.Join(root, path), []byte(content))
		}
		for _, wheel := range []string{d.Dep.Wheel, w.Bad.path} {
			b, err := os.ReadFile(wheel)
			if err != nil {
				t.Fatal(err)
			}
			writeFileAll(t, filepath.Join(root, "packages", filepath.Base(wheel)), b)
		}
		static := startNginx(t, nginxSite{Root: root})

		// The proxy's own error about the refused file is expected; the
		// refusal is no bug of the server.
		p3Opts := serverOptions{Args: []string{"--upstream", static + "/simple/"}, ExpectLog: []string{"upstream file refused", "request refused"}}
		if opts.Database != "" {
			p3Opts.Database = storetest.URL(t, store.Postgres)
		}
		p3 := startServer(t, p3Opts)
		p3.createUser(t, "alice")
		mustTwine(t, p3, p3.token(t, "alice"), d.App.Files()...)
		r := v.mustPip(t, "install", "--force-reinstall", "--index-url", p3.URL+"/simple/", "cheese-app")
		for _, m := range pipDownloaded.FindAllStringSubmatch(r.Out, -1) {
			if !strings.HasPrefix(m[1], p3.URL+"/") {
				t.Errorf("pip downloaded %s, not from P3 (%s)", m[1], p3.URL)
			}
		}
		if !strings.Contains(r.Out, "cheese_dep-1.0-py3-none-any.whl") {
			t.Errorf("pip did not download cheese-dep from P3:\n%s", r.Out)
		}

		// pip would retry the 502 for 8 s.
		r, got := download(p3.URL+"/simple/", "cheese-bad", "--retries", "0")
		if r.Code == 0 {
			t.Errorf("pip download of a file whose listed SHA-256 is wrong succeeded: %v\n%s", got, r.Out)
		}
		badFile := "/files/" + wrongSHA + "/" + filepath.Base(w.Bad.path)
		if resp, body := p3.get(t, badFile); resp.StatusCode != http.StatusBadGateway {
			t.Errorf("GET %s, whose upstream bytes do not have the listed SHA-256: %d, want 502\n%s", badFile, resp.StatusCode, body)
		}
		if !p3.waitLog("mismatch") {
			t.Errorf("P3 did not log the mismatch")
		}
		storedBlobs(t, p3, func(path string) {
			if strings.Contains(path, w.Bad.sha256) || strings.Contains(path, wrongSHA) {
				t.Errorf("P3 stored %s, after a SHA-256 mismatch", path)
			}
		})
	})

	t.Run("offline", func(t *testing.T) {
		u.stop()
		fresh := newVenv(t)
		install := func(v *venv, more ...string) {
			t.Helper()
			r := v.pip(t, append([]string{"install", "--no-input", "--index-url", p.URL + "/simple/", "cheese-app"}, more...)...)
			if r.Code != 0 {
				t.Errorf("pip install cheese-app from P with U down: exit %d\n%s", r.Code, r.Out)
			}
		}
		install(fresh)
		if resp, _ := p.get(t, "/simple/cheese-dep/"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cheeseshop-Upstream") != "stale" {
			t.Errorf("P's page of cheese-dep with U down: %d, X-Cheeseshop-Upstream %q, want 200 and stale", resp.StatusCode, resp.Header.Get("X-Cheeseshop-Upstream"))
		}
		// From the rows and the stored files, not from memory.
		p.stop()
		p = startServer(outer, serverOptions{Data: p.Data, Database: p.Database, Args: pArgs, ExpectLog: pOpts.ExpectLog})
		install(fresh, "--force-reinstall")
		resp, body := p.get(t, "/simple/cheese-never-fetched/")
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET of a name P never fetched with U down: %d, Retry-After %q, want 503 with Retry-After\n%s",
				resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	})
}

// mustTwine uploads files with twine, failing the test if it fails.
func mustTwine(t testing.TB, s *server, token string, files ...string) {
	t.Helper()
	if r := twineUpload(t, s, token, files...); r.Code != 0 {
		t.Fatalf("twine upload to %s: exit %d\n%s", s.URL, r.Code, r.Out)
	}
}

// twineVerbose is twineUpload with --verbose, which prints the body of
// the server's answer (the notice of a held project).
func twineVerbose(t testing.TB, s *server, token string, files ...string) cmdResult {
	t.Helper()
	env := cleanEnv("TWINE_USERNAME=__token__", "TWINE_PASSWORD="+token, "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring")
	args := append([]string{"upload", "--verbose", "--repository-url", s.URL + "/legacy/", "--non-interactive", "--disable-progress-bar"}, files...)
	return runCmd(t, "", env, debTwine, args...)
}

// waitListed polls a server's simple page of project until it lists
// filename (pages follow other processes' changes within the follow
// interval, and proxied ones their minimum age).
func waitListed(t testing.TB, s *server, project, filename string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := s.get(t, "/simple/"+project+"/")
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), filename) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: after 10s /simple/%s/ does not list %s: %d\n%s", s.URL, project, filename, resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeFileAll writes a file, making its folders.
func writeFileAll(t testing.TB, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// storedBlobs calls fn with every file path under a server's storage
// folder.
func storedBlobs(t testing.TB, s *server, fn func(path string)) {
	t.Helper()
	root := filepath.Join(s.Data, "files")
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			fn(path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
