package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	runpprof "runtime/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/app"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/recovery"
	"cheeseshop/internal/store"
	"cheeseshop/internal/web"
)

// ServeCmd is a profiling twin of `cheeseshop serve`: the same wiring
// (internal/app) and http.Server settings, without access log, plus a CPU
// profile of the whole run and /debug/pprof/ on a second port. Load it
// with wrk or `cheeseshop-bench uploads`, then stop it (SIGINT/SIGTERM or
// --duration) and read the profile with `go tool pprof`.
type ServeCmd struct {
	Data       string        `required:"" type:"path" help:"Index folder, as 'cheeseshop serve --data'."`
	Database   string        `help:"Database URL. Default: SQLite in --data."`
	Addr       string        `default:"127.0.0.1:0" help:"Address to listen on."`
	PprofAddr  string        `help:"Also serve /debug/pprof/ there (e.g. 127.0.0.1:6060)."`
	CPUProfile string        `name:"cpuprofile" type:"path" help:"Write a CPU profile of the whole run there."`
	Duration   time.Duration `help:"Stop after this long (default: at SIGINT/SIGTERM)."`
}

// Run implements the command.
func (c *ServeCmd) Run(e *env) error {
	dbURL := c.Database
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(c.Data, "cheeseshop.db")
	}
	st, err := store.Open(e.ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(e.ctx); err != nil {
		return err
	}
	blobs, err := blob.NewFS(filepath.Join(c.Data, "files"))
	if err != nil {
		return err
	}
	defer blobs.Close()
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The server of cmd/cheeseshop/serve.go, with its defaults, except
	// that the load generator's many connections come from one address,
	// and that TOTP secrets are sealed with a key of this run.
	limits := web.DefaultLimits()
	limits.MaxConnsPerClient = 0
	cfg := app.Config{BaseURL: base, SecretKey: []byte(rand.Text() + rand.Text()), RecoveryWait: recovery.DefaultWait, Limits: limits}
	a, err := app.New(e.ctx, cfg, app.Deps{Store: st, Blobs: blobs, Log: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	defer a.Close()
	srv := a.HTTP
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	if c.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	a.Start(ctx)

	if c.PprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go http.ListenAndServe(c.PprofAddr, mux)
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := runpprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer runpprof.StopCPUProfile()
	}
	defer allocReport(e.stdout)()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(e.stdout, "cheeseshop listening on %s\n", base)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// allocReport starts counting what the process allocates and collects;
// the function it returns prints the counts. Divided by the requests
// served, they are the bytes and objects a request costs the collector.
func allocReport(w io.Writer) func() {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	return func() {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		fmt.Fprintf(w, "allocated %d B in %d objects, %d collections, heap in use %d B at the end\n",
			after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs, after.NumGC-before.NumGC, after.HeapInuse)
	}
}
