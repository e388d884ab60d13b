package main

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/blake2b"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// FillFullCmd fills an index with every name of the list, fast, for the
// full-scale benchmark (make bench-full): the rows are written in bulk by
// storetest.LoadIndex, not through the upload path, and each project's
// wheel (a real one, made for it) is written to the file store without a
// per-file fsync.
type FillFullCmd struct {
	Data     string `required:"" type:"path" help:"Index folder: SQLite database (unless --database) and files, as 'cheeseshop serve --data'."`
	Database string `help:"Database URL (sqlite:///path or postgres://…). Default: SQLite in --data, as 'cheeseshop serve'."`
	Projects int    `default:"0" help:"Take only the first N names of the list (0: all)."`
	TSV      string `name:"tsv" default:"/work/shared/data/pypi-projects.tsv.gz" type:"path" help:"Gzipped TSV with a header: name, version, month, rank among the 15,000 most downloaded (empty for the others)."`
	Peak     int64  `default:"10000000" help:"Downloads per day of the project of rank 1: rank r of the ranked ones gets max(1, round(peak/r)); the unranked get 0 to 3 a day."`
	Days     int    `default:"7" help:"Days of download counts written for each project (the days before --as-of)."`
	AsOf     string `name:"as-of" default:"2026-12-01" help:"The day after the last day of counts (YYYY-MM-DD)."`
	User     string `default:"bench-fill" help:"Account that owns the projects (created)."`
	NamesOut string `type:"path" help:"Write the project names there, one a line."`
}

// Run implements the command.
func (c *FillFullCmd) Run(e *env) error {
	asOf, err := store.ParseDay(c.AsOf)
	if err != nil {
		return fmt.Errorf("--as-of: %w", err)
	}
	dbURL := c.Database
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(c.Data, "cheeseshop.db")
	}
	start := time.Now()
	step := func(what string) {
		fmt.Fprintf(e.stdout, "fill-full: %6.1f s  %s\n", time.Since(start).Seconds(), what)
	}
	projects, err := readFullProjects(c.TSV, c.Projects, float64(c.Peak))
	if err != nil {
		return err
	}
	step(fmt.Sprintf("%d names read", len(projects)))
	if err := writeWheels(e.ctx, filepath.Join(c.Data, "files"), projects); err != nil {
		return err
	}
	step(fmt.Sprintf("%d wheels made and written", len(projects)))

	st, err := store.Open(e.ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(e.ctx); err != nil {
		return err
	}
	if n, err := st.CountProjects(e.ctx); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("the database already has %d projects: give a fresh one", n)
	}
	u := &store.User{Username: c.User, Email: c.User + "@bench.invalid", PasswordHash: "!", CreatedAt: time.Now().UTC()}
	if err := st.CreateUser(e.ctx, u); err != nil {
		return err
	}
	err = storetest.LoadIndex(e.ctx, st, &storetest.IndexLoad{Projects: projects, Owner: u.ID,
		First: asOf - store.Day(c.Days), Last: asOf - 1, Progress: func(s string) { step("database: " + s) }})
	if err != nil {
		return err
	}
	syscall.Sync()
	step("synced")
	if c.NamesOut != "" {
		var sb strings.Builder
		for _, p := range projects {
			sb.WriteString(p.Name + "\n")
		}
		if err := os.WriteFile(c.NamesOut, []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	n, err := st.CountProjects(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "fill-full: %d projects, %d files, in %.1f s (%.0f projects/s) on %s\n",
		n, len(projects), time.Since(start).Seconds(), float64(n)/time.Since(start).Seconds(), st.Dialect())
	return nil
}

// readFullProjects reads the TSV (at most limit names when positive) as
// projects with their daily downloads: max(1, round(peak/rank)) for the
// ranked (a Zipf curve of exponent 1), and line % 4 (0 to 3) for the
// others. Names whose normalized form repeats an earlier one's are
// skipped; one whose ultranormalized form does keeps a suffix there (see
// readRankedProjects).
func readFullProjects(path string, limit int, peak float64) ([]storetest.IndexProject, error) {
	var projects []storetest.IndexProject
	ultra, normalized := map[string]bool{}, map[string]bool{}
	err := readTSV(path, func(line int, cols []string) (bool, error) {
		if limit > 0 && len(projects) == limit {
			return false, nil
		}
		name := strings.TrimSpace(cols[0])
		if name == "" {
			return true, nil
		}
		p := storetest.IndexProject{Name: name, NormalizedName: pep.NormalizeName(name), UltraName: pep.UltraNormalizeName(name),
			Daily: int64(line % 4)}
		if normalized[p.NormalizedName] {
			return true, nil
		}
		normalized[p.NormalizedName] = true
		if ultra[p.UltraName] {
			p.UltraName += "~" + strconv.Itoa(len(projects))
		}
		ultra[p.UltraName] = true
		if len(cols) >= 4 && strings.TrimSpace(cols[3]) != "" {
			rank, err := strconv.ParseInt(strings.TrimSpace(cols[3]), 10, 64)
			if err != nil || rank < 1 {
				return false, fmt.Errorf("%s:%d: bad rank %q", path, line, cols[3])
			}
			p.Daily = max(1, int64(math.Round(peak/float64(rank))))
		}
		projects = append(projects, p)
		return true, nil
	})
	return projects, err
}

// writeWheels makes each project's wheel, fills in its filename, size and
// digests, and writes it to the file store in dir at its content address,
// without fsyncs (the caller syncs once at the end).
func writeWheels(ctx context.Context, dir string, projects []storetest.IndexProject) error {
	fs, err := blob.NewFS(dir)
	if err != nil {
		return err
	}
	fs.Close()
	workers := runtime.GOMAXPROCS(0)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := range workers {
		wg.Go(func() {
			made := map[string]bool{}
			for i := w; i < len(projects); i += workers {
				if ctx.Err() != nil {
					return
				}
				if err := writeWheel(dir, &projects[i], made); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// writeWheel makes p's wheel and writes it to dir; made holds the
// folders this worker already created.
func writeWheel(dir string, p *storetest.IndexProject, made map[string]bool) error {
	d := disttest.Dist{Name: p.Name, Version: "0.1.0", Summary: "cheeseshop-bench fill-full", Stored: true}
	content := d.Wheel()
	sha := sha256.Sum256(content)
	md := md5.Sum(content)
	b2 := blake2b.Sum256(content)
	p.Filename, p.Size = d.WheelFilename(), int64(len(content))
	p.FilenameKey = pep.FilenameKey(p.Filename)
	p.SHA256, p.MD5, p.Blake2 = hex.EncodeToString(sha[:]), hex.EncodeToString(md[:]), hex.EncodeToString(b2[:])
	dst := filepath.Join(dir, filepath.FromSlash(blob.Key(p.SHA256)))
	if folder := filepath.Dir(dst); !made[folder] {
		if err := os.MkdirAll(folder, 0o750); err != nil {
			return fmt.Errorf("fill-full: %w", err)
		}
		made[folder] = true
	}
	if err := os.WriteFile(dst, content, 0o640); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("fill-full: %w", err)
	}
	return nil
}
