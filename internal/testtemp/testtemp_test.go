package testtemp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	cases := []struct {
		name  string
		tests func(t *testing.T) int // runs inside Run, with TMPDIR set
		code  int
		said  []string
	}{
		{"clean", func(t *testing.T) int {
			d, err := os.MkdirTemp("", "x")
			if err != nil {
				t.Fatal(err)
			}
			os.RemoveAll(d)
			return 0
		}, 0, nil},
		{"failed tests keep their code", func(*testing.T) int { return 3 }, 3, nil},
		{"leftovers fail", func(t *testing.T) int {
			d, err := os.MkdirTemp("", "org.chromium.Chromium.")
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(d, "SingletonSocket"), nil, 0o600)
			os.WriteFile(filepath.Join(os.TempDir(), "stray"), nil, 0o600)
			return 0
		}, 1, []string{"left behind", "org.chromium.Chromium.", "/ (SingletonSocket)", "\tstray"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			system := t.TempDir()
			t.Setenv("TMPDIR", system)
			var errOut bytes.Buffer
			var inside string
			code := Run("cheeseshop-x-", &errOut, func() int {
				inside = os.TempDir()
				return c.tests(t)
			})
			if code != c.code {
				t.Errorf("code %d, want %d; said %q", code, c.code, errOut.String())
			}
			if filepath.Dir(inside) != system || !strings.HasPrefix(filepath.Base(inside), "cheeseshop-x-") {
				t.Errorf("the tests ran with TMPDIR %s, not a folder of their own in %s", inside, system)
			}
			if os.TempDir() != system {
				t.Errorf("TMPDIR is %s after Run, want %s again", os.TempDir(), system)
			}
			if left, _ := os.ReadDir(system); len(left) != 0 {
				t.Errorf("Run left %d entries in the system's temporary folder", len(left))
			}
			for _, s := range c.said {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("Run said %q, which lacks %q", errOut.String(), s)
				}
			}
			if c.said == nil && errOut.Len() != 0 {
				t.Errorf("Run said %q", errOut.String())
			}
		})
	}
}

// TestRunRemovesDeadRuns: the folder of a run that died (its lock free)
// is removed; a live run's (locked), a new one and a stranger's stay.
func TestRunRemovesDeadRuns(t *testing.T) {
	system := t.TempDir()
	t.Setenv("TMPDIR", system)
	old := time.Now().Add(-time.Hour)
	folder := func(name string, lock bool, mtime time.Time) {
		d := filepath.Join(system, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "cheeseshop.db"), nil, 0o600)
		if lock {
			f, err := os.Create(filepath.Join(d, lockName))
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		os.Chtimes(d, mtime, mtime)
	}
	folder("cheeseshop-x-dead", true, old)
	folder("cheeseshop-x-new", true, time.Now())
	folder("cheeseshop-x-stranger", false, old)
	folder("cheeseshop-x-live", true, old)
	live, err := os.Open(filepath.Join(system, "cheeseshop-x-live", lockName))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := syscall.Flock(int(live.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(system, "cheeseshop-x-live"), old, old)

	if code := Run("cheeseshop-x-", os.Stderr, func() int { return 0 }); code != 0 {
		t.Fatalf("code %d", code)
	}
	var names []string
	entries, _ := os.ReadDir(system)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "cheeseshop-x-live cheeseshop-x-new cheeseshop-x-stranger"; got != want {
		t.Errorf("the system's temporary folder holds %s, want %s", got, want)
	}
}
