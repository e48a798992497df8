package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	register("version", "print version and build info", runVersion)
}

func runVersion(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "version", "version", "pagereply version")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	fmt.Fprintf(env.stdout, "pagereply %s\n", version)
	fmt.Fprintf(env.stdout, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified":
				fmt.Fprintf(env.stdout, "%s %s\n", s.Key, s.Value)
			}
		}
	}
	return exitOK
}
