package e2e

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestPrivateIndex runs an index with --read-access authenticated with
// the real clients: twine uploads with its upload token as always; pip
// installs with a read-only token in the index URL, and with one in
// .netrc; without credentials pip fails on the 401 (and says so) and
// nothing of the index is answered; a read token scoped to one project
// finds no other (404, never 403), nor its files, and lists only its own;
// a wrong token is a 401; a read-only token cannot upload; a disabled
// account's token stops reading on every replica within the follow
// interval.
func TestPrivateIndex(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		privateIndex(t, serverOptions{})
	})
	t.Run("postgres", func(t *testing.T) {
		privateIndex(t, serverOptions{Database: storetest.URL(t, store.Postgres)})
	})
}

func privateIndex(t *testing.T, opts serverOptions) {
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	opts.Args = append(opts.Args, "--read-access=authenticated", "--follow-interval="+followInterval.String())
	s := startServer(t, opts)
	s.createUser(t, "olive")
	upload := s.token(t, "olive")
	for _, files := range [][]string{d.Dep.Files(), d.FooBar.Files()} {
		if r := twineUpload(t, s, upload, files...); r.Code != 0 {
			t.Fatalf("twine upload on a private index: exit %d\n%s", r.Code, r.Out)
		}
	}
	readToken := func(projects ...string) string {
		args := []string{"token", "create", "--username", "olive", "--read"}
		for _, p := range projects {
			args = append(args, "--project", p)
		}
		return strings.TrimSpace(s.admin(t, args...))
	}
	all, depOnly := readToken(), readToken("cheese-dep")
	host := strings.TrimPrefix(s.URL, "http://")
	hostname, _, _ := strings.Cut(host, ":")
	index := s.URL + "/simple/"
	withToken := func(token string) string { return "http://__token__:" + token + "@" + host + "/simple/" }
	basic := func(token string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+token))
	}

	// pip runs in the isolated client environment, whose HOME holds
	// .netrc when the test writes one.
	v := newVenv(t)
	env := clientEnv(t, "PIP_CONFIG_FILE="+os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_CACHE_DIR=1",
		"PIP_NO_INPUT=1", "PIP_DEFAULT_TIMEOUT=60", "VIRTUAL_ENV="+v.Dir)
	home := ""
	for _, kv := range env {
		if h, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = h
		}
	}
	pipDownload := func(indexURL, project string, more ...string) cmdResult {
		t.Helper()
		args := append([]string{"-m", "pip", "download", "--no-deps", "--index-url", indexURL, "-d", t.TempDir(), project}, more...)
		return runCmd(t, v.Dir, env, filepath.Join(v.Dir, "bin", "python"), args...)
	}
	mustDownload := func(indexURL, project, how string) {
		t.Helper()
		if r := pipDownload(indexURL, project); r.Code != 0 {
			t.Fatalf("pip download %s with %s: exit %d\n%s", project, how, r.Code, r.Out)
		}
	}

	// 1. A read token in the index URL: the page, then the file (pip
	// sends the credentials it found for the host with every request).
	mustDownload(withToken(all), "cheese-dep", "a read token in the index URL")

	// 2. No credentials: pip finds nothing to install and, asked for
	// details (-vv: Debian's pip logs the failed fetch at debug level),
	// tells of the 401; nothing of the index is answered.
	r := pipDownload(index, "foo-bar-baz", "-vv")
	if r.Code == 0 || !strings.Contains(r.Out, "401") || !strings.Contains(r.Out, "No matching distribution found for foo-bar-baz") {
		t.Errorf("pip without credentials: exit %d, want a failure naming the 401 and the project\n%s", r.Code, r.Out)
	}
	resp, body := s.get(t, "/simple/foo-bar-baz/")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="`+hostname+`", charset="UTF-8"` ||
		resp.Header.Get("Cache-Control") != "no-store" || strings.Contains(string(body), ".whl") {
		t.Errorf("anonymous GET: %d %q %q\n%s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Cache-Control"), body)
	}

	// 3. The token in .netrc, by host name (the port is not part of
	// it), and a plain index URL.
	netrc := "machine " + hostname + " login __token__ password " + all + "\n"
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte(netrc), 0o600); err != nil {
		t.Fatal(err)
	}
	mustDownload(index, "foo-bar-baz", "a read token in .netrc")
	if err := os.Remove(filepath.Join(home, ".netrc")); err != nil {
		t.Fatal(err)
	}

	// 4. A read token scoped to cheese-dep reads cheese-dep only.
	mustDownload(withToken(depOnly), "cheese-dep", "a read token scoped to it")
	if r := pipDownload(withToken(depOnly), "foo-bar-baz"); r.Code == 0 || !strings.Contains(r.Out, "No matching distribution") {
		t.Errorf("pip with a token scoped to another project: exit %d\n%s", r.Code, r.Out)
	}
	wheel := filepath.Base(d.FooBar.Wheel)
	for _, path := range []string{"/simple/foo-bar-baz/", "/pypi/foo-bar-baz/json", "/files/" + sha256File(t, d.FooBar.Wheel) + "/" + wheel} {
		if resp, body := s.get(t, path, "Authorization", basic(depOnly)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s with a token scoped to cheese-dep: %d, want 404\n%s", path, resp.StatusCode, body)
		}
	}
	if resp, body := s.get(t, "/simple/", "Authorization", basic(depOnly)); resp.StatusCode != http.StatusOK ||
		!strings.Contains(string(body), "cheese-dep") || strings.Contains(string(body), "foo-bar-baz") {
		t.Errorf("the project list of a token scoped to cheese-dep: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := s.get(t, "/simple/", "Authorization", basic(all)); !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
		t.Errorf("a private answer says Cache-Control %q", resp.Header.Get("Cache-Control"))
	}

	// 5. A wrong token is a 401, never anonymous.
	if resp, _ := s.get(t, "/simple/cheese-dep/", "Authorization", basic("pypi-wrong")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
	if r := pipDownload(withToken("pypi-wrong"), "cheese-dep", "-vv"); r.Code == 0 || !strings.Contains(r.Out, "401") {
		t.Errorf("pip with a wrong token: exit %d\n%s", r.Code, r.Out)
	}

	// 6. A read-only token does not upload.
	if r := twineUpload(t, s, all, d.Dep2.Files()...); r.Code == 0 || !strings.Contains(r.Out, "can only read") {
		t.Errorf("twine upload with a read-only token: exit %d\n%s", r.Code, r.Out)
	}

	// 7. On two replicas that cached a token's reader, disabling its
	// account from the command line (another process) stops it on both
	// within the follow interval.
	b := startServer(t, serverOptions{Data: s.Data, Database: s.Database, Args: opts.Args})
	s.createUser(t, "dora")
	dora := strings.TrimSpace(s.admin(t, "token", "create", "--username", "dora", "--read"))
	for _, r := range []*server{s, b} {
		if resp, body := r.get(t, "/simple/cheese-dep/", "Authorization", basic(dora)); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: dora's read token: %d\n%s", r.URL, resp.StatusCode, body)
		}
	}
	s.admin(t, "user", "disable", "--username", "dora")
	start := time.Now()
	for _, r := range []*server{s, b} {
		for {
			resp, _ := r.get(t, "/simple/cheese-dep/", "Authorization", basic(dora))
			if resp.StatusCode == http.StatusUnauthorized {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: a disabled account's token still reads after 10s: %d", r.URL, resp.StatusCode)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("a disabled account's token stopped reading on both replicas within %s (--follow-interval %s)",
		time.Since(start).Round(time.Millisecond), followInterval)
}

// TestPrivateIndexBehindCache puts a shared cache (nginx's proxy_cache,
// told to keep every 200 for 10 minutes, honouring the answers' headers
// as CDNs do) in front of a private index and of a public one: the
// private index's pages and files, read with a token, are never served
// from the cache, and an anonymous request through it gets the 401, never
// a cached answer; the public index's page is a cache hit the second
// time, which shows the test sees caching at all. On the public index a
// project made private is installed by pip through the cache with its
// Owner's token in the index URL, and then an anonymous request of any
// of its reads through the cache gets 404, never a cache hit, and the
// project list the cache keeps for everybody does not name it. The cache
// does not depend on the database: SQLite only.
func TestPrivateIndexBehindCache(t *testing.T) {
	requireTool(t, "/usr/sbin/nginx", "nginx-light")
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	private := startServer(t, serverOptions{Args: []string{"--read-access=authenticated"}})
	// The public index is read through the cache, which is its base URL
	// (the file URLs of its pages are absolute): its URL is the cache's.
	publicAddr, publicCacheAddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	public := startServer(t, serverOptions{Args: []string{"--follow-interval=" + followInterval.String(),
		"--addr", publicAddr, "--base-url", "http://" + publicCacheAddr}})
	privateCache := startNginx(t, nginxSite{CacheOf: private.URL})
	publicCache := startNginx(t, nginxSite{Addr: publicCacheAddr, CacheOf: "http://" + publicAddr})
	tokens := map[*server]string{}
	for _, s := range []*server{private, public} {
		s.createUser(t, "olive")
		tokens[s] = s.token(t, "olive")
		if r := twineUpload(t, s, tokens[s], d.Dep.Files()...); r.Code != 0 {
			t.Fatalf("twine upload: exit %d\n%s", r.Code, r.Out)
		}
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+tokens[private]))
	file := "/files/" + sha256File(t, d.Dep.Wheel) + "/" + filepath.Base(d.Dep.Wheel)

	get := func(base, path string, header ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Cache")
	}
	for _, path := range []string{"/simple/cheese-dep/", "/simple/", "/pypi/cheese-dep/json", file} {
		for range 2 {
			if status, cache := get(privateCache, path, "Authorization", auth); status != http.StatusOK || cache == "HIT" {
				t.Errorf("GET %s with a token through the cache: %d, X-Cache %s (a private answer must not be kept)", path, status, cache)
			}
		}
		if status, cache := get(privateCache, path); status != http.StatusUnauthorized || cache == "HIT" {
			t.Errorf("anonymous GET %s through the cache: %d, X-Cache %s, want the 401, never a cached answer", path, status, cache)
		}
	}
	get(publicCache, "/simple/cheese-dep/")
	if status, cache := get(publicCache, "/simple/cheese-dep/"); status != http.StatusOK || cache != "HIT" {
		t.Errorf("public page through the cache the second time: %d, X-Cache %q, want a HIT", status, cache)
	}

	// A private project on the public index (made so from the command
	// line: the server follows within the follow interval).
	if r := twineUpload(t, public, tokens[public], d.FooBar.Files()...); r.Code != 0 {
		t.Fatalf("twine upload: exit %d\n%s", r.Code, r.Out)
	}
	public.admin(t, "project", "visibility", "foo-bar-baz", "private")
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if status, _ := get("http://"+publicAddr, "/simple/foo-bar-baz/"); status == http.StatusNotFound {
			t.Logf("the server hid the project made private from the command line within %s", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the project made private is still read anonymously after 10s")
		}
	}
	host := strings.TrimPrefix(publicCache, "http://")
	v := newVenv(t)
	r := v.pip(t, "install", "--no-deps", "--no-cache-dir", "--index-url", "http://__token__:"+tokens[public]+"@"+host+"/simple/", "foo-bar-baz")
	if r.Code != 0 || !installedFooBar.MatchString(r.Out) {
		t.Fatalf("pip install of the private project through the cache with its Owner's token: exit %d\n%s", r.Code, r.Out)
	}
	fooFile := "/files/" + sha256File(t, d.FooBar.Wheel) + "/" + filepath.Base(d.FooBar.Wheel)
	publicAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+tokens[public]))
	for _, path := range []string{"/simple/foo-bar-baz/", "/pypi/foo-bar-baz/json", "/pypi/foo-bar-baz/1.0/json", fooFile, fooFile + ".metadata"} {
		if status, cache := get(publicCache, path, "Authorization", publicAuth); status != http.StatusOK || cache == "HIT" {
			t.Errorf("GET %s with the Owner's token through the cache: %d, X-Cache %s (a private answer must not be kept)", path, status, cache)
		}
		for range 2 {
			if status, cache := get(publicCache, path); status != http.StatusNotFound || cache == "HIT" {
				t.Errorf("anonymous GET %s of the private project through the cache: %d, X-Cache %s, want a 404, never a cached answer", path, status, cache)
			}
		}
	}
	// The list everybody reads may be kept, but never names it; the
	// Owner's list names it and is never kept.
	for range 2 {
		req, _ := http.NewRequest("GET", publicCache+"/simple/", nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "foo-bar-baz") || !strings.Contains(string(body), "cheese-dep") {
			t.Errorf("anonymous project list through the cache: %d, X-Cache %s\n%s", resp.StatusCode, resp.Header.Get("X-Cache"), body)
		}
		req.Header.Set("Authorization", publicAuth)
		if resp, err = httpClient.Do(req); err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "foo-bar-baz") || resp.Header.Get("X-Cache") == "HIT" {
			t.Errorf("the Owner's project list through the cache: %d, X-Cache %s\n%s", resp.StatusCode, resp.Header.Get("X-Cache"), body)
		}
	}
}

// freeLoopbackAddr returns a loopback address (127.0.0.1:PORT) that was
// free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
