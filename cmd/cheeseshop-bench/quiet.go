package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// QuietCmd waits until the machine is quiet: benchmarks on a shared
// machine are only comparable when nothing else runs.
type QuietCmd struct {
	MaxBusy float64       `default:"20" help:"Busy percentage of all CPUs (over one second) below which the machine counts as quiet."`
	Timeout time.Duration `default:"2m" help:"Give up waiting after this long (and say so; not an error)."`
}

// Run implements the command. It prints the last busy percentage, and
// "(not quiet)" when it gave up.
func (c *QuietCmd) Run(e *env) error {
	deadline := time.Now().Add(c.Timeout)
	for {
		busy, err := cpuBusy(time.Second)
		if err != nil {
			return err
		}
		if busy < c.MaxBusy {
			fmt.Fprintf(e.stdout, "%.0f%%\n", busy)
			return nil
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			fmt.Fprintf(e.stdout, "%.0f%% (not quiet)\n", busy)
			return nil
		}
	}
}

// cpuBusy is the share of all CPUs, in percent, not idle during d.
func cpuBusy(d time.Duration) (float64, error) {
	idle0, total0, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	idle1, total1, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	if total1 <= total0 {
		return 0, nil
	}
	return 100 * (1 - float64(idle1-idle0)/float64(total1-total0)), nil
}

// cpuTimes reads the idle (idle + iowait) and total jiffies of /proc/stat.
func cpuTimes() (idle, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, errors.New("/proc/stat: unexpected format")
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i >= 8 { // guest time is already counted in user time
			break
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return idle, total, nil
}
