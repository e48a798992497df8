// Command pagereply sends Facebook Page private replies at scale. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes of SPEC.md.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one subcommand. run gets the arguments after the command name and
// returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) int
}

// cmdEnv is what every command writes to; tests swap it.
type cmdEnv struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, env *cmdEnv, args []string) int) {
	commands[name] = command{summary: summary, run: run}
}

func main() {
	// SIGHUP (the terminal or SSH session closed) stops as SIGTERM does:
	// by Go's default it ended the process at once, cutting sends in flight.
	// Not under nohup, which ignores it so the process outlives its
	// terminal: asking for it would undo that.
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	// The first signal starts the graceful stop; from then on the signals'
	// default action is back, so a second Ctrl-C (or SIGTERM) ends the
	// process at once instead of waiting out the stop.
	context.AfterFunc(ctx, stop)
	code := runMain(ctx, &cmdEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				return unknownCommand(env, args[1])
			}
			return c.run(ctx, env, []string{"-h"})
		}
		usage(env.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		return unknownCommand(env, args[0])
	}
	return c.run(ctx, env, args[1:])
}

// unknownCommand says name is no command and returns the bad usage exit code.
func unknownCommand(env *cmdEnv, name string) int {
	fmt.Fprintf(env.stderr, "pagereply: unknown command %q; run 'pagereply help'\n", name)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "pagereply sends Facebook Page private replies: one per comment, never two.")
	fmt.Fprintln(w, "\nUsage: pagereply <command> [flags]   (pagereply <command> -h for its flags)\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
}

// newFlagSet returns a flag set that prints usage with an example and defaults.
func newFlagSet(env *cmdEnv, name, synopsis, example string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: pagereply %s\n\n", synopsis)
		if example != "" {
			fmt.Fprintf(env.stderr, "Example:\n  %s\n\n", example)
		}
		fmt.Fprintln(env.stderr, "Flags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and returns the exit code to use when parsing ended the
// command (-h is success, anything else bad usage), or -1 to go on.
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "pagereply %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage
	}
	return -1
}
