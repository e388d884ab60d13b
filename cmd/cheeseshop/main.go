// Command cheeseshop is a Python package index server.
//
//	cheeseshop serve                 run the server (SQLite + ./data by default)
//	cheeseshop migrate               bring the database schema up to date
//	cheeseshop admin user create     create an account (its password asked on the terminal)
//	cheeseshop admin token create    create an API token for uploads
//	cheeseshop admin name prohibit   forbid project names
//	cheeseshop admin downloads import  count downloads from access logs
//	cheeseshop admin critical compute  designate the critical projects now
//	cheeseshop admin critical list     list them, with their collaborators' 2FA
//	cheeseshop admin names check       print the look-alikes of protected names
//	cheeseshop admin blobs gc          remove stored files no row references
//	cheeseshop admin blobs copy        copy the stored files to another storage
//
// Every flag can also be set with an environment variable
// CHEESESHOP_<FLAG>, e.g. CHEESESHOP_DATABASE.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alecthomas/kong"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
)

// Globals are the flags every subcommand takes.
type Globals struct {
	Data      string `default:"./data" help:"Folder for the SQLite database and the package files." type:"path"`
	Database  string `help:"Database URL: sqlite:///path/to/db or postgres://user:pass@host/db. Default: SQLite in --data."`
	Storage   string `help:"Where the package files are stored: file:///abs/path (a folder) or s3://BUCKET/PREFIX?endpoint=https://host:port&region=us-east-1&lookup=auto (path, dns or auto)&md5=false (true for stores that require Content-MD5, such as R2 and B2)&part_size=16MiB&public_endpoint=URL (the host of presigned URLs); credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, never in the URL. Every server of a deployment needs the same one. Default: <data>/files."`
	LogLevel  string `default:"info" enum:"debug,info,warn,error" help:"Log level (debug, info, warn, error)."`
	LogFormat string `default:"text" enum:"text,json" help:"Log format (text, json)."`
}

// CLI is the command line.
type CLI struct {
	Globals

	Serve   ServeCmd   `cmd:"" help:"Run the index server."`
	Migrate MigrateCmd `cmd:"" help:"Apply database migrations and exit."`
	Admin   AdminCmd   `cmd:"" help:"Administer users, tokens and names."`
	Version VersionCmd `cmd:"" help:"Print the version (and commit) of this binary."`
}

// env carries what commands share: the globals, the output streams and a
// context cancelled by SIGINT/SIGTERM.
type env struct {
	*Globals
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// terminal is the terminal standard input is, nil when it is none.
	terminal passwordTerminal
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdin, stdout, stderr)
}

// runContext runs the command line until ctx is done (tests interrupt
// commands through it).
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("cheeseshop"),
		kong.Description("A Python package index server."),
		kong.DefaultEnvars("CHEESESHOP"),
		kong.Writers(stdout, stderr),
		kong.UsageOnError(),
	)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "cheeseshop: %v\n", err)
		return 2
	}
	e := &env{Globals: &cli.Globals, ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, log: newLogger(cli.Globals, stderr),
		terminal: stdinTerminal(stdin, stderr)}
	if err := kctx.Run(e); err != nil {
		fmt.Fprintf(stderr, "cheeseshop: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(g Globals, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(g.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if g.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// databaseURL is --database, or SQLite in --data.
func (g *Globals) databaseURL() string {
	if g.Database != "" {
		return g.Database
	}
	return "sqlite://" + filepath.Join(g.Data, "cheeseshop.db")
}

// openStore opens and migrates the database.
func (e *env) openStore() (*store.Store, error) {
	st, err := store.Open(e.ctx, e.databaseURL())
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(e.ctx); err != nil {
		st.Close()
		return nil, err
	}
	// Used filenames registered before canonical keys existed get theirs
	// before anything can upload.
	if n, err := index.BackfillFilenameKeys(e.ctx, st); err != nil {
		st.Close()
		return nil, err
	} else if n > 0 {
		e.log.Info("keyed used filenames registered before canonical keys", "filenames", n)
	}
	return st, nil
}

// openBlobs opens the file store --storage names (by default the folder
// files in --data).
func (e *env) openBlobs() (blob.Store, error) {
	return blob.Open(e.ctx, e.Storage, blob.Options{DataDir: e.Data, Logger: e.log})
}

// MigrateCmd applies migrations.
type MigrateCmd struct{}

// Run implements the command.
func (c *MigrateCmd) Run(e *env) error {
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(e.stdout, "database schema is up to date")
	return nil
}
