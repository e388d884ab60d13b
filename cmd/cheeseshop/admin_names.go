package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"cheeseshop/internal/lookalike"
)

// AdminNamesCmd groups the commands about protected names and their
// look-alikes.
type AdminNamesCmd struct {
	Check NamesCheckCmd `cmd:"" help:"Print the names that look like a protected name: name, protected target and kind, tab-separated, in input order."`
}

// NamesCheckCmd runs the look-alike detector over names, the way project
// creation does, so that operators can measure it on any corpus.
type NamesCheckCmd struct {
	Protected string   `type:"path" placeholder:"FILE" help:"TSV of the protected names: a header with a 'name' column and an optional rank column (1 = most popular), gzip or plain. Required for now."`
	Top       int      `default:"0" help:"Protect only the names ranked 1..N (0: every ranked name). Names ranked below N are still never flagged themselves."`
	Names     []string `arg:"" optional:"" name:"name" help:"Names to check. Default: one a line on standard input."`
}

// Run implements the command.
func (c *NamesCheckCmd) Run(e *env) error {
	if c.Protected == "" {
		return errors.New("give the protected names with --protected FILE: checking against the index's own protected names is not available yet")
	}
	if c.Top < 0 {
		return fmt.Errorf("--top must be 0 or more, not %d", c.Top)
	}
	f, err := os.Open(c.Protected)
	if err != nil {
		return err
	}
	protected, err := lookalike.ReadTSV(f, 0)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", c.Protected, err)
	}
	opt := lookalike.DefaultOptions()
	opt.Top = c.Top
	ix := lookalike.New(protected, opt)

	names := c.Names
	if len(names) == 0 {
		sc := bufio.NewScanner(e.stdin)
		for sc.Scan() {
			if name := strings.TrimSpace(sc.Text()); name != "" {
				names = append(names, name)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading names: %w", err)
		}
	}
	w := bufio.NewWriter(e.stdout)
	for i, m := range ix.CheckMany(names, runtime.GOMAXPROCS(0)) {
		if m.Target != "" {
			fmt.Fprintf(w, "%s\t%s\t%s\n", names[i], m.Target, m.Kind)
		}
	}
	return w.Flush()
}
