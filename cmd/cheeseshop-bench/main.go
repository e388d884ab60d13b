// Command cheeseshop-bench fills indexes and loads servers, for the
// benchmarks (scripts/bench.sh, docs/BENCHMARKS.md).
//
//	cheeseshop-bench fill     fill an index with real project names, in-process
//	cheeseshop-bench fill-full fill an index with all 886k names in bulk (make bench-full)
//	cheeseshop-bench uploads  upload new wheels to a running server, as twine does
//	cheeseshop-bench serve    the server, as 'cheeseshop serve', with a CPU profile
//	cheeseshop-bench static   a bare net/http server of given bytes: the floor of the wrk comparison
//	cheeseshop-bench quiet    wait until the machine is nearly idle
//	cheeseshop-bench freeport print a free TCP port on the loopback interface
//	cheeseshop-bench critical time the daily computation of the critical projects at PyPI's scale
//	cheeseshop-bench lookalike-eval  measure the look-alike detector (docs/SUPPLY-CHAIN.md)
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI is the command line.
type CLI struct {
	Fill     FillCmd     `cmd:"" help:"Fill an index with the first N real project names, one tiny wheel each, through the index's own upload rules."`
	Uploads  UploadsCmd  `cmd:"" help:"Upload new wheels (a new version per request) to a running server's /legacy/, as twine does, and report the rate and latencies."`
	Serve    ServeCmd    `cmd:"" help:"Serve an index as 'cheeseshop serve' does, with a CPU profile of the run (for profiling under load)."`
	Static   StaticCmd   `cmd:"" help:"Serve given files' bytes at given paths with given headers from a bare net/http server: the best Go's HTTP server does, for the wrk comparison."`
	Quiet    QuietCmd    `cmd:"" help:"Wait until the machine's CPUs are nearly idle (other work skews benchmarks), and print how busy they were."`
	Freeport FreeportCmd `cmd:"" help:"Print a free TCP port on 127.0.0.1."`
	FillFull FillFullCmd `cmd:"" name:"fill-full" help:"Fill an index with every name of the list in bulk (rows written by the database, one real wheel each, download counts following the rank), for make bench-full."`
	Critical CriticalCmd `cmd:"" help:"Load every project of the list with a daily count following its rank, and time the computations of the critical projects (first, daily, dry run)."`

	LookalikeEval LookalikeEvalCmd `cmd:"" name:"lookalike-eval" help:"Measure the look-alike detector: recall on synthetic look-alikes per family, share of real names flagged per top N (Markdown)."`
}

// env is what commands share.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("cheeseshop-bench"),
		kong.Description("Fill cheeseshop indexes and load cheeseshop servers, for benchmarks."),
		kong.DefaultEnvars("CHEESESHOP_BENCH"),
		kong.Writers(stdout, stderr),
		kong.UsageOnError(),
	)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "cheeseshop-bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := kctx.Run(&env{ctx: ctx, stdout: stdout, stderr: stderr}); err != nil {
		fmt.Fprintf(stderr, "cheeseshop-bench: %v\n", err)
		return 1
	}
	return 0
}

// FreeportCmd prints a free port.
type FreeportCmd struct{}

// Run implements the command.
func (c *FreeportCmd) Run(e *env) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Fprintln(e.stdout, ln.Addr().(*net.TCPAddr).Port)
	return nil
}
