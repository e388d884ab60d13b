// Package testtemp keeps a test process from leaving anything in the
// system's temporary folder. Its TestMain runs the tests with TMPDIR set to
// a folder of their own, which the tests' t.TempDir folders and every
// program they start (servers, Chromium, pip) use, and fails the run when
// the tests leave something in it: what a test forgets shows up in the
// run that made it, with its name, instead of piling up in /tmp.
package testtemp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockName is the file in a run's folder that the run holds locked until
// it exits, so that later runs know the folder is in use.
const lockName = ".lock"

// staleAge is how old the folder of a run that holds no lock must be to be
// removed: a run that has just made its folder may not hold its lock yet.
const staleAge = time.Minute

// Run calls tests (what a TestMain does: its set-up, m.Run, its clean-up)
// with TMPDIR set to a new folder named prefix+random in the system's
// temporary folder, and returns its exit code. If the tests leave anything
// in that folder, Run lists it on errOut and returns 1 instead of 0. It
// removes the folder in any case, and first the folders of earlier runs
// with the same prefix that died without cleaning up (a test binary's
// timeout exits at once, skipping every clean-up).
func Run(prefix string, errOut io.Writer, tests func() int) int {
	system := os.TempDir()
	removeStale(system, prefix, errOut)
	dir, err := os.MkdirTemp(system, prefix)
	if err != nil {
		fmt.Fprintf(errOut, "testtemp: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		fmt.Fprintf(errOut, "testtemp: locking %s: %v\n", dir, err)
		return 1
	}
	defer lock.Close()
	old, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", dir)
	defer func() {
		if had {
			os.Setenv("TMPDIR", old)
		} else {
			os.Unsetenv("TMPDIR")
		}
	}()

	code := tests()
	if left := Leftovers(dir); len(left) > 0 {
		fmt.Fprintf(errOut, "testtemp: the tests left behind, in their temporary folder %s (TMPDIR; removed now), what the test or program that made it must remove:\n\t%s\n",
			dir, strings.Join(left, "\n\t"))
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Leftovers lists what dir holds besides the run's lock: each entry, and
// for a folder up to three entries in it, which usually tell who made it
// (Chromium's SingletonSocket, a server's cheeseshop.db).
func Leftovers(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{fmt.Sprintf("(reading %s: %v)", dir, err)}
	}
	var left []string
	for _, e := range entries {
		if e.Name() == lockName {
			continue
		}
		line := e.Name()
		if e.IsDir() {
			inner, _ := os.ReadDir(filepath.Join(dir, e.Name()))
			var names []string
			for i, f := range inner {
				if i == 3 {
					names = append(names, "…")
					break
				}
				names = append(names, f.Name())
			}
			line += "/ (" + strings.Join(names, ", ") + ")"
		}
		left = append(left, line)
	}
	return left
}

// removeStale removes the folders of earlier runs in system whose lock no
// process holds: those runs died. Folders without a lock file are not a
// run's, or not yet, and stay.
func removeStale(system, prefix string, errOut io.Writer) {
	dirs, _ := filepath.Glob(filepath.Join(system, prefix+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < staleAge {
			continue
		}
		lock, err := os.OpenFile(filepath.Join(d, lockName), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if err := os.RemoveAll(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(errOut, "testtemp: removing the folder of a dead run: %v\n", err)
			}
		}
		lock.Close()
	}
}
