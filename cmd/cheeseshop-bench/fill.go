package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// FillCmd fills an index in-process, through index.Service: every project
// passes the real upload rules (name checks, archive inspection, digests).
type FillCmd struct {
	Data        string `required:"" type:"path" help:"Index folder: SQLite database (unless --database) and files, as 'cheeseshop serve --data'."`
	Database    string `help:"Database URL (sqlite:///path or postgres://…). Default: SQLite in --data, as 'cheeseshop serve'."`
	Projects    int    `default:"1000" help:"How many project names to take from the top of the list."`
	TSV         string `name:"tsv" default:"/work/shared/data/pypi-projects.tsv.gz" type:"path" help:"Project names: gzipped TSV with a header and the name in the first column."`
	Concurrency int    `default:"0" help:"Concurrent uploads (default 8 per CPU)."`
	User        string `default:"bench-fill" help:"Account that owns the projects (created if missing)."`
	NamesOut    string `type:"path" help:"Write the accepted project names there, one a line."`
	CPUProfile  string `name:"cpuprofile" type:"path" help:"Write a CPU profile of the fill there (go tool pprof)."`
	Durable     bool   `help:"Store each file as the server does, with its fsyncs. Default: write files without per-file fsyncs and sync the file system once at the end (much faster on slow disks)."`
}

// fillStats counts what happened to the names.
type fillStats struct {
	mu       sync.Mutex
	accepted []string
	refused  map[string]int // by reason
	examples map[string]string
	failed   int
	firstErr error
}

func (s *fillStats) refuse(name string, err error) {
	reason := refusalReason(err)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[reason]++
	if _, ok := s.examples[reason]; !ok {
		s.examples[reason] = name + ": " + err.Error()
	}
}

// refusalReason classifies an index refusal by its message.
func refusalReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "too similar to an existing project"):
		return "look-alike of an existing project (ultranormalized collision)"
	case strings.Contains(msg, "Standard Library"):
		return "Python standard-library module name"
	case strings.Contains(msg, "isn't allowed"):
		return "prohibited name"
	case strings.Contains(msg, "invalid value for Name"), strings.Contains(msg, "is invalid"):
		return "invalid name"
	}
	return "other"
}

// Run implements the command.
func (c *FillCmd) Run(e *env) error {
	if c.Projects <= 0 {
		return errors.New("--projects must be positive")
	}
	names, err := readNames(c.TSV, c.Projects)
	if err != nil {
		return err
	}
	if len(names) < c.Projects {
		fmt.Fprintf(e.stderr, "fill: %s has only %d names\n", c.TSV, len(names))
	}
	conc := c.Concurrency
	if conc <= 0 {
		conc = 8 * runtime.GOMAXPROCS(0)
	}

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
	var blobs interface {
		blob.Store
		Close() error
	}
	if c.Durable {
		blobs, err = blob.NewFS(filepath.Join(c.Data, "files"))
	} else {
		blobs, err = newFillBlobs(filepath.Join(c.Data, "files"))
	}
	if err != nil {
		return err
	}
	defer blobs.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := index.New(st, blobs, index.Config{BaseURL: "http://127.0.0.1"}, log)
	p, err := fillPrincipal(e.ctx, st, c.User)
	if err != nil {
		return err
	}

	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	stats := &fillStats{refused: map[string]int{}, examples: map[string]string{}}
	work := make(chan string)
	var done atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for name := range work {
				err := fillOne(e.ctx, svc, p, name)
				switch {
				case err == nil:
					stats.mu.Lock()
					stats.accepted = append(stats.accepted, name)
					stats.mu.Unlock()
				case problem.KindOf(err) != 0:
					stats.refuse(name, err)
				default:
					stats.mu.Lock()
					stats.failed++
					if stats.firstErr == nil {
						stats.firstErr = fmt.Errorf("%s: %w", name, err)
					}
					stats.mu.Unlock()
				}
				done.Add(1)
			}
		})
	}
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
feed:
	for _, n := range names {
		for {
			select {
			case work <- n:
				continue feed
			case <-progress.C:
				d := done.Load()
				fmt.Fprintf(e.stderr, "fill: %d/%d names in %s (%.0f/s)\n", d, len(names), time.Since(start).Round(time.Second),
					float64(d)/time.Since(start).Seconds())
			case <-e.ctx.Done():
				break feed
			}
		}
	}
	close(work)
	wg.Wait()
	if !c.Durable {
		syscall.Sync() // the files, and the database, reach the disk before the rate is taken
	}
	elapsed := time.Since(start)
	if err := e.ctx.Err(); err != nil {
		return err
	}

	refused := 0
	for _, n := range stats.refused {
		refused += n
	}
	fmt.Fprintf(e.stdout, "fill: %d names tried, %d projects created, %d refused by the index, %d failed, in %.1fs (%.0f uploads/s, concurrency %d)\n",
		len(names), len(stats.accepted), refused, stats.failed, elapsed.Seconds(), float64(done.Load())/elapsed.Seconds(), conc)
	reasons := make([]string, 0, len(stats.refused))
	for r := range stats.refused {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		fmt.Fprintf(e.stdout, "  refused: %6d  %s (e.g. %s)\n", stats.refused[r], r, stats.examples[r])
	}
	if total, err := st.CountProjects(e.ctx); err == nil {
		fmt.Fprintf(e.stdout, "fill: the index now holds %d projects\n", total)
	}
	if c.NamesOut != "" {
		slices.Sort(stats.accepted)
		if err := os.WriteFile(c.NamesOut, []byte(strings.Join(stats.accepted, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	if stats.failed > 0 {
		return fmt.Errorf("%d uploads failed; first: %w", stats.failed, stats.firstErr)
	}
	return nil
}

// readNames returns the first n names of the gzipped TSV.
func readNames(path string, n int) ([]string, error) {
	names := make([]string, 0, n)
	err := readTSV(path, func(_ int, cols []string) (bool, error) {
		if len(names) == n {
			return false, nil
		}
		if name := strings.TrimSpace(cols[0]); name != "" {
			names = append(names, name)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

// readTSV calls row with the number and the columns of each line of the
// gzipped TSV at path after its header, until row returns false or an
// error.
func readTSV(path string, row func(line int, cols []string) (bool, error)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sc := bufio.NewScanner(zr)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue // the header
		}
		if more, err := row(line, strings.Split(sc.Text(), "\t")); err != nil || !more {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// fillPrincipal finds or creates the account that owns the filled
// projects, acting through a new unscoped token.
func fillPrincipal(ctx context.Context, st *store.Store, username string) (*index.Principal, error) {
	now := time.Now().UTC()
	u, err := st.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		u = &store.User{Username: username, Email: username + "@bench.invalid", PasswordHash: "!", CreatedAt: now}
		err = st.CreateUser(ctx, u)
	}
	if err != nil {
		return nil, err
	}
	token, hash := auth.NewToken()
	t := &store.Token{UserID: u.ID, Name: "fill", Prefix: auth.DisplayPrefix(token), Hash: hash, CreatedAt: now}
	if err := st.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	return &index.Principal{User: u, Token: t}, nil
}

// fillOne uploads one tiny wheel for name, as twine would.
func fillOne(ctx context.Context, svc *index.Service, p *index.Principal, name string) error {
	d := disttest.Dist{Name: name, Version: "0.1.0", Summary: "cheeseshop-bench fill"}
	content := d.Wheel()
	in, err := svc.Receive(ctx, bytes.NewReader(content), d.WheelFilename(), "application/octet-stream", name)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = svc.Upload(ctx, p, index.Form(d.Form("bdist_wheel", content)), in)
	return err
}
