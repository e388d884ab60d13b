package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// nginxSite is what startNginx serves: the files under Root (a static
// PEP 503 tree), or a shared cache in front of CacheOf.
type nginxSite struct {
	// Addr is the address to listen on (127.0.0.1:PORT); a free loopback
	// port when empty.
	Addr string
	// Root is a folder served as it is.
	Root string
	// CacheOf is a URL proxied with proxy_cache: every 200 is kept for 10
	// minutes unless the answer's headers forbid it (proxy_cache honours
	// Cache-Control private and no-store, Set-Cookie and Vary), as a CDN
	// would; X-Cache tells the cache's verdict.
	CacheOf string
}

// nginxConf is the configuration of startNginx: one process (no master,
// no daemon), everything it writes in Dir, as scripts/bench.sh's.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`daemon off;
master_process off;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 64; }
http {
  access_log {{.Dir}}/access.log;
  client_body_temp_path {{.Dir}}/body;
  proxy_temp_path {{.Dir}}/proxy;
  fastcgi_temp_path {{.Dir}}/fastcgi;
  uwsgi_temp_path {{.Dir}}/uwsgi;
  scgi_temp_path {{.Dir}}/scgi;
  types { text/html html; application/zip whl; application/gzip gz; }
  default_type application/octet-stream;
{{- if .CacheOf}}
  proxy_cache_path {{.Dir}}/cache keys_zone=shared:1m;
{{- end}}
  server {
    listen {{.Addr}};
{{- if .CacheOf}}
    location / {
      proxy_pass {{.CacheOf}};
      proxy_cache shared;
      proxy_cache_valid 200 10m;
      add_header X-Cache $upstream_cache_status always;
    }
{{- else}}
    root {{.Root}};
{{- end}}
  }
}
`))

// startNginx starts nginx on a free loopback port serving site, waits
// until it answers, and stops it when the test ends. It returns its URL
// (http://127.0.0.1:PORT, no final slash).
func startNginx(t testing.TB, site nginxSite) string {
	t.Helper()
	requireTool(t, "/usr/sbin/nginx", "nginx-light")
	if (site.Root == "") == (site.CacheOf == "") {
		t.Fatalf("startNginx: give a Root or a CacheOf, not %+v", site)
	}
	dir := t.TempDir()
	if site.Addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		site.Addr = ln.Addr().String()
		ln.Close()
	}
	var conf strings.Builder
	if err := nginxConf.Execute(&conf, struct {
		nginxSite
		Dir string
	}{site, dir}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	url := "http://" + site.Addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// Any answer, a 404 included, says it listens.
		if resp, err := httpClient.Get(url + "/"); err == nil {
			resp.Body.Close()
			return url
		}
		exited := false
		select {
		case <-done:
			exited = true
		default:
		}
		if exited || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not answer within 10s (exited: %v):\n%s", exited, log)
		}
	}
}
