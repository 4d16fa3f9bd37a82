// Command bench measures container start-to-exit latency of stepbox's
// steps beside chroot, util-linux unshare, runc and crun, interleaved in
// one run; plus memory and throughput. See docs/bench.md.
//
//	bench [--iterations 200] [--out bench-out/bench.json] [--png FILE]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stepbox/stepbox/harness/bench"
)

// The main goroutine keeps the main thread for itself, so the bench's
// private-mount-namespace thread (for crun) is never the main thread,
// whose /proc/self view the host checks read.
func init() { runtime.LockOSThread() }

// netnsEnv marks the copy of the bench that runs in a network namespace
// of its own.
const netnsEnv = "STEPBOX_BENCH_NETNS"

func main() {
	if os.Getenv(netnsEnv) == "" && os.Geteuid() == 0 {
		os.Exit(inOwnNetns())
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, out, png, err := parseFlags(args)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("containers need root: run as root (sudo make bench)")
	}
	res, err := bench.Run(cfg)
	if err != nil {
		return err
	}
	if err := bench.WriteTable(os.Stdout, res); err != nil {
		return err
	}
	if err := bench.WriteJSON(res, out); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", out)
	if png != "" {
		if err := bench.WritePNG(res, png); err != nil {
			return err
		}
		fmt.Printf("wrote %s\n", png)
	}
	if res.HostChanged != "" {
		return errors.New("the host changed during the bench (see above)")
	}
	return nil
}

// inOwnNetns runs the bench again in a network namespace of its own and
// returns its exit status. From step 07 the steps keep the stepbox0
// bridge they make, as docker keeps docker0: in here it is never made on
// the host, and the bench removes it at the end (it also goes with the
// namespace). runc's and crun's bundles have no network namespace; the
// rows all share this one.
func inOwnNetns() int {
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	err := cmd.Start()
	if err == nil {
		// After the start, or the copy would inherit SIG_IGN: Ctrl-C
		// reaches it too (same process group), and it cleans up.
		signal.Ignore(syscall.SIGINT, syscall.SIGQUIT)
		err = cmd.Wait()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: a network namespace of its own: %v\n", err)
		return 1
	}
	return 0
}

// parseFlags reads the command line into a bench.Config.
func parseFlags(args []string) (cfg bench.Config, out, png string, err error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&cfg.Iterations, "iterations", 200, "measured rounds; each round runs every row once, in random order")
	fs.IntVar(&cfg.Warmup, "warmup", 5, "rounds run first and discarded")
	seed := fs.Uint64("seed", 0, "seed of the row order (0: from the clock)")
	fs.DurationVar(&cfg.Timeout, "timeout", 20*time.Second, "bound of one container run")
	fs.Float64Var(&cfg.CPUs, "cpus", 0.5, "--cpus for step 05+, and the same CPU quota for runc and crun")
	fs.IntVar(&cfg.MemoryRuns, "memory-runs", 5, "runs per step for the memory report (0: skip)")
	fs.IntVar(&cfg.ThroughputRuns, "throughput-runs", 200, "containers per concurrency level (0: skip)")
	conc := fs.String("concurrency", "1,2,4,8", "concurrency levels for throughput")
	fs.BoolVar(&cfg.Lock, "lock", true, "hold the harness host lock, so privileged tests wait instead of running alongside")
	fs.StringVar(&out, "out", "bench-out/bench.json", "JSON result file")
	rows := fs.String("rows", "", "run only these rows, by name, separated by commas (e.g. step-06,step-10,crun; empty: every row)")
	fs.StringVar(&png, "png", "", "also draw the latency distribution per row into this PNG file")
	if err := fs.Parse(args); err != nil {
		return cfg, "", "", err
	}
	if cfg.Iterations < 1 || cfg.Warmup < 0 || cfg.Timeout <= 0 {
		return cfg, "", "", errors.New("--iterations must be >= 1, --warmup >= 0, --timeout > 0")
	}
	cfg.Seed = *seed
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return cfg, "", "", fmt.Errorf("--concurrency %q: want positive integers separated by commas", *conc)
		}
		cfg.Concurrency = append(cfg.Concurrency, n)
	}
	if *rows != "" {
		for _, name := range strings.Split(*rows, ",") {
			cfg.Rows = append(cfg.Rows, strings.TrimSpace(name))
		}
	}
	cfg.Progress = os.Stderr
	cfg.OwnNetns = os.Getenv(netnsEnv) != ""
	return cfg, out, png, nil
}
