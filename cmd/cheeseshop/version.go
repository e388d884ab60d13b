package main

import (
	"fmt"
	"runtime/debug"
)

// VersionCmd prints what was built: the module version, the commit and
// whether the tree had changes, and the Go version. A report of a
// vulnerability or a bug names it.
type VersionCmd struct{}

// Run implements the command.
func (VersionCmd) Run(e *env) error {
	fmt.Fprintln(e.stdout, version())
	return nil
}

// version describes the running binary from its build information.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "cheeseshop (no build information)"
	}
	v := "cheeseshop " + bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+changes"
			}
		}
	}
	if rev != "" {
		v += " (commit " + rev + modified + ")"
	}
	return v + " " + bi.GoVersion
}
