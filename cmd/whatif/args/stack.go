package args

import (
	"flag"
	"fmt"

	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/experiments/scenarios"
)

// Stack is the flags every command that touches a stack shares.
type Stack struct {
	Base   int
	Kind   string // local or compose
	BinDir string // "" = WHATIF_BIN_DIR, else beside the whatif binary
	Logs   string // "" = no log file
}

func addStack(fs *flag.FlagSet) *Stack {
	s := &Stack{}
	fs.IntVar(&s.Base, "base", 15400, "first port of the stack; it uses [base, base+200)")
	fs.StringVar(&s.Kind, "stack", "local", "local (processes) or compose (docker)")
	fs.StringVar(&s.BinDir, "bin-dir", "", "where whatif-api and whatif-broker live (default: beside this binary)")
	fs.StringVar(&s.Logs, "logs", "", "also write every service's log lines to this file (the run dir is removed on stop)")
	return s
}

// Validate checks what the flag package cannot: a known backend, and
// ports [Base, Base+PortSpan) that exist.
func (s *Stack) Validate() error {
	if s.Kind != "local" && s.Kind != "compose" {
		return fmt.Errorf("--stack %q: want local or compose", s.Kind)
	}
	if s.Base < 1024 || s.Base > 65535-compose.PortSpan { // no overflow for huge values
		return fmt.Errorf("--base %d: want a port in [1024, %d]", s.Base, 65535-compose.PortSpan)
	}
	return nil
}

// Compose is whether the stack is the docker compose one.
func (s *Stack) Compose() bool { return s.Kind == "compose" }

// Topology is the stack's services and links at its base.
func (s *Stack) Topology() compose.Topology { return compose.Default(s.Base) }

// ParseStack parses a command that takes only the stack flags (down, status).
func ParseStack(cmd string, argv []string) (*Stack, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	s := addStack(fs)
	if err := Parse(fs, argv); err != nil {
		return nil, err
	}
	if err := noArgs(cmd, fs); err != nil {
		return nil, err
	}
	return s, s.Validate()
}

// ParseUp parses up's flags: the stack flags and --for, which names an
// experiment whose services alone are started (nil = the whole stack).
func ParseUp(cmd string, argv []string) (*Stack, compose.Part, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	s := addStack(fs)
	forX := fs.String("for", "", "start only what this experiment needs (whatif list); default: the whole stack")
	if err := Parse(fs, argv); err != nil {
		return nil, compose.Part{}, err
	}
	if err := noArgs(cmd, fs); err != nil {
		return nil, compose.Part{}, err
	}
	if err := s.Validate(); err != nil {
		return nil, compose.Part{}, err
	}
	if *forX == "" {
		return s, compose.Part{}, nil
	}
	x, err := scenarios.Lookup(*forX)
	if err != nil {
		return nil, compose.Part{}, fmt.Errorf("--for: %w", err)
	}
	return s, x.Part(), nil
}
