// Command pagereply sends Facebook Page private replies at scale. See README.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
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
	ctx, stop := notifyStop(context.Background())
	code := runMain(ctx, &cmdEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// notifyStop returns a context done at the first SIGINT, SIGTERM or SIGHUP.
// SIGHUP (the terminal or SSH session closed) stops as SIGTERM does: by
// Go's default it ended the process at once, cutting sends in flight. Not
// under nohup, which ignores it so the process outlives its terminal: asking
// for it would undo that.
//
// The first signal starts the graceful stop; from then on SIGINT's and
// SIGTERM's default action is back, so a second Ctrl-C (or SIGTERM) ends the
// process at once instead of waiting out the stop. SIGHUP is ignored from
// then on instead: a closed session sends it more than once (the shell
// passes its own on to its jobs, and the kernel sends the foreground group
// one more as the shell exits), and the second would end the stop the first
// began.
func notifyStop(parent context.Context) (context.Context, context.CancelFunc) {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	hup := !signal.Ignored(syscall.SIGHUP)
	if hup {
		sigs = append(sigs, syscall.SIGHUP)
	}
	ctx, stop := signal.NotifyContext(parent, sigs...)
	context.AfterFunc(ctx, func() {
		if hup {
			// Before stop, so that no SIGHUP finds its default action back.
			signal.Ignore(syscall.SIGHUP)
		}
		stop()
	})
	return ctx, stop
}

// stopName names what ended ctx, for a command's line saying it stopped:
// the signal of notifyStop's context (SIGINT, SIGTERM, SIGHUP), or the
// cause's own words.
func stopName(ctx context.Context) string {
	cause := context.Cause(ctx)
	if cause == nil {
		return "not stopped"
	}
	for _, sig := range []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGINT, "SIGINT"}, {syscall.SIGTERM, "SIGTERM"}, {syscall.SIGHUP, "SIGHUP"}} {
		// signal.NotifyContext's cause: "<signal> signal received".
		if cause.Error() == sig.sig.String()+" signal received" {
			return sig.name
		}
	}
	return cause.Error()
}

func runMain(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				return unknownCommand(env, args[1], nil)
			}
			return c.run(ctx, env, []string{"-h"})
		}
		usage(env.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		// What a new user tries first: the version command's answer.
		args = append([]string{"version"}, args[1:]...)
	}
	c, ok := commands[args[0]]
	if !ok {
		return unknownCommand(env, args[0], args[1:])
	}
	return c.run(ctx, env, args[1:])
}

// unknownCommand says name is no command and returns the bad usage exit code.
// A flag given before the command (pagereply -c FILE serve) is said to go
// after it, with the command found in rest; it is named without a value
// given with = (sandbox's --app-secret=... would be a secret). A name that
// is a command in another case, or the start of only one, names it.
func unknownCommand(env *cmdEnv, name string, rest []string) int {
	if strings.HasPrefix(name, "-") {
		flagName, _, _ := strings.Cut(name, "=")
		for _, a := range rest {
			if _, ok := commands[a]; ok {
				fmt.Fprintf(env.stderr, "pagereply: %s comes before the command: give the command first, then its flags (pagereply %s %s ...)\n", flagName, a, flagName)
				return exitUsage
			}
		}
		fmt.Fprintf(env.stderr, "pagereply: %s is no command: give a command first, then its flags (pagereply <command> %s ...); run 'pagereply help'\n", flagName, flagName)
		return exitUsage
	}
	if c := likelyCommand(name); c != "" {
		fmt.Fprintf(env.stderr, "pagereply: unknown command %q (%s?); run 'pagereply help'\n", name, c)
		return exitUsage
	}
	fmt.Fprintf(env.stderr, "pagereply: unknown command %q; run 'pagereply help'\n", name)
	return exitUsage
}

// likelyCommand returns the command name is in another case (Serve), or the
// one command it is the start of (stat: status), at least 2 letters; "" when
// there is none or more than one.
func likelyCommand(name string) string {
	lower := strings.ToLower(name)
	if _, ok := commands[lower]; ok {
		return lower
	}
	if len(lower) < 2 {
		return ""
	}
	found := ""
	for c := range commands {
		if strings.HasPrefix(c, lower) {
			if found != "" {
				return ""
			}
			found = c
		}
	}
	return found
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

// newFlagSet returns a flag set that prints usage with an example and defaults:
// to stdout when asked for (-h, so that `pagereply serve -h | less` works, as
// `pagereply help` does), to stderr after a flag error.
func newFlagSet(env *cmdEnv, name, synopsis, example string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := &flagOutput{stdout: env.stdout, stderr: env.stderr, prefix: "pagereply " + name + ": ", fs: fs}
	fs.SetOutput(out)
	fs.Usage = func() {
		out.usage = out.stdout
		if out.failed {
			out.usage = out.stderr
		}
		defer func() { out.usage = nil }()
		fmt.Fprintf(out, "Usage: pagereply %s\n\n", synopsis)
		if example != "" {
			fmt.Fprintf(out, "Example:\n  %s\n\n", example)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 { // version has none: no empty heading
			fmt.Fprintln(out, "Flags:")
			fs.PrintDefaults()
		}
		if out.tail != nil {
			out.tail(out.usage)
		}
	}
	return fs
}

// flagOutput is a flag set's output: its messages (a flag error) go to
// stderr, and its usage to stdout unless a message came first. The flag
// package prints a flag error, then the usage; -h, the usage alone. A
// message begins "pagereply CMD: " as every other error of a command does
// (the flag package's own, "flag provided but not defined: -x", named
// neither).
type flagOutput struct {
	stdout, stderr io.Writer
	prefix         string    // "pagereply CMD: "
	usage          io.Writer // while the usage prints
	failed         bool      // a message went out
	tail           func(io.Writer)
	fs             *flag.FlagSet // to say what a flag whose value did not parse takes
}

func (o *flagOutput) Write(p []byte) (int, error) {
	if o.usage != nil {
		return o.usage.Write(p)
	}
	o.failed = true
	msg := o.sayWhatItTakes(p)
	if !bytes.HasPrefix(msg, []byte("pagereply ")) {
		if _, err := io.WriteString(o.stderr, o.prefix); err != nil {
			return 0, err
		}
	}
	if _, err := o.stderr.Write(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flagValueError matches the flag package's message for a value it could
// not parse: "invalid value "5" for flag -timeout: parse error", and a
// boolean's "invalid boolean value "yes" for -once: parse error".
var flagValueError = regexp.MustCompile(`^(invalid (?:boolean )?value ".*" for (?:flag )?-([^:\s]+): )parse error\n$`)

// sayWhatItTakes replaces a flag value error's "parse error", which says
// nothing of what was wrong with "5" for --timeout, with what the flag takes
// (a duration needs its unit). Other messages are returned as they are.
func (o *flagOutput) sayWhatItTakes(p []byte) []byte {
	m := flagValueError.FindSubmatch(p)
	if m == nil || o.fs == nil {
		return p
	}
	f := o.fs.Lookup(string(m[2]))
	if f == nil {
		return p
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return p
	}
	var want string
	switch g.Get().(type) {
	case time.Duration:
		want = "not a duration: give it with its unit, like 30s, 2m or 1h30m"
	case int, int64, uint, uint64:
		want = "not a whole number"
	case float64:
		want = "not a number"
	case bool:
		want = "want true or false"
	default:
		return p
	}
	out := make([]byte, 0, len(m[1])+len(want)+1)
	out = append(append(out, m[1]...), want...)
	return append(out, '\n')
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
		hint := ""
		if configArg(fs) {
			hint = fmt.Sprintf(": give the configuration file with -c (pagereply %s -c %s)", fs.Name(), fs.Arg(0))
		}
		fmt.Fprintf(fs.Output(), "pagereply %s: unexpected argument %q%s\n", fs.Name(), fs.Arg(0), hint)
		return exitUsage
	}
	return -1
}

// configArg reports whether the first argument left after fs's flags is a
// configuration file given without -c (pagereply check pagereply.yaml, as
// many tools take it): fs takes -c and was not given it, and the argument
// is named .yaml or .yml or is a file.
func configArg(fs *flag.FlagSet) bool {
	c := fs.Lookup("c")
	if c == nil || c.Value.String() != "" {
		return false
	}
	arg := fs.Arg(0)
	if ext := strings.ToLower(filepath.Ext(arg)); ext == ".yaml" || ext == ".yml" {
		return true
	}
	st, err := os.Stat(arg)
	return err == nil && st.Mode().IsRegular()
}
