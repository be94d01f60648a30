// Package args reads whatif's command lines: every flag is checked here,
// before a command starts anything. It knows the experiments and the
// topology, not the backends, so its fuzz targets build without them.
package args

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// HelpOut is where --help goes (a test swaps it).
var HelpOut io.Writer = os.Stdout

// Parse parses quietly; --help prints the command's flags to HelpOut
// and returns flag.ErrHelp, which main turns into exit 0.
func Parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(HelpOut)
		fmt.Fprintf(HelpOut, "usage of whatif %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	return err
}

// IsSet reports whether the command line gave the flag.
func IsSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// withName accepts the one positional name before or after flags.
func withName(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := Parse(fs, args); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		if name != "" || fs.NArg() > 1 {
			return "", fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
		}
		name = fs.Arg(0)
	}
	if name == "" {
		return "", fmt.Errorf("which experiment? (whatif list)")
	}
	return name, nil
}

// noArgs refuses positional arguments of a command that takes none.
func noArgs(cmd string, fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments: %s", cmd, strings.Join(fs.Args(), " "))
	}
	return nil
}
