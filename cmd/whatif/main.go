// Command whatif runs chaos experiments against a small real system:
// list, explain, up, down, status, run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `whatif — see a failure cascade, prove a mitigation works

usage:
  whatif list                          experiments and the seed scenario each reproduces
  whatif explain NAME                  what an experiment does and the checks it asserts
  whatif run NAME [flags]              run an experiment's matrix and write a report
      --quick                          shrink phases and seed timers (x0.25, or the experiment's floor)
      --load normal|peak|both          offered load (default both; peak = 10x normal)
      --variant unprotected|protected|both
      --runs V/L,V/L                   just these runs, e.g. unprotected/peak,protected/normal
      --break P1,P2                    switch protections off in the protected run (must then fail)
      --results DIR                    report root (default results)
      --set K=D,K=D                    override API knobs (full-scale durations), e.g. query_cost=40ms
  stack flags (run, up, status, down):
      --stack local|compose            processes on this machine (default) or docker compose
      --base PORT                      first port of the stack; it uses [PORT, PORT+200) (default 15400)
      --bin-dir DIR                    where whatif-api and whatif-broker live (default: beside whatif)
      --logs FILE                      also write every service's log lines to FILE
  whatif ablate NAME [--quick] [--load normal|peak|both] [--set K=D,...] [--results DIR] [stack flags]
                                       the protected run with each protection off alone: every
                                       one must break a check (ablation.md in the run folder)
  whatif report DIR                    rebuild a run folder's report.md and report.html from its files
  whatif compare OLD NEW [--tolerance 0.5]
                                       run folders (or results roots) check by check; exits 1 when a
                                       check that passed fails, is missing, or lost half its margin
  whatif up [stack flags]              start the stack in the background (workshops)
  whatif status [stack flags]          health of every service of a running stack
  whatif down [stack flags]            stop the stack and remove every leftover
  whatif COMMAND --help                the flags of one command
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := dispatch(ctx, os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // the command printed its flags
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "whatif:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

var errUsage = errors.New("see usage above")

func dispatch(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2, errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "list":
		return 0, cmdList()
	case "explain":
		return cmdExplain(rest)
	case "run":
		return cmdRun(ctx, rest)
	case "ablate":
		return cmdAblate(ctx, rest)
	case "report":
		return cmdReport(rest)
	case "compare":
		return cmdCompare(rest)
	case "up":
		return cmdUp(ctx, rest)
	case "down":
		return cmdDown(ctx, rest)
	case "status":
		return cmdStatus(ctx, rest)
	case serveCmd:
		return cmdServe(ctx, rest)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0, nil
	}
	fmt.Fprint(os.Stderr, usage)
	return 2, fmt.Errorf("unknown command %q", cmd)
}
