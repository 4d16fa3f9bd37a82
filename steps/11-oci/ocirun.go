//go:build linux

package main

import (
	"errors"
	"fmt"
	"os/signal"
)

// ociRunCommand is "run [--bundle DIR] [--detach] [--pid-file F] ID":
// create, start and, unless detached, wait, pass the signals this
// runtime gets on to the container, delete it, and exit with its status.
func ociRunCommand(g globals, args []string) int {
	var o createOpts
	f := newFlagSet("run")
	createFlags(f, &o)
	detach := f.Bool("detach", false, "return once the container runs")
	f.BoolVar(detach, "d", false, "return once the container runs")
	f.Bool("keep", false, "accepted; the container is deleted after it ends")
	ids, err := parseWithIDs(f, args, 1)
	if err != nil || len(ids) != 1 {
		return ociFailed(exitUsage, fmt.Errorf("usage: run [--bundle DIR] [--detach] [--pid-file F] ID (%v)", err))
	}
	o.id = ids[0]
	signals := catchSignals() // before the init exists: no signal is lost
	defer signal.Stop(signals)
	c, err := createContainer(g, o, !*detach)
	if err != nil {
		return ociFailed(statusOf(err), err)
	}
	if err := startContainer(c.rec); err != nil {
		if !*detach {
			_, _ = c.init.Process.Wait()
		}
		_ = deleteContainer(c.rec, true)
		return ociFailed(statusOf(err), err)
	}
	if *detach {
		return 0
	}
	go forwardSignals(signals, c.init.Process)
	status, err := waitForChild(c.init)
	if deleteErr := deleteContainer(c.rec, true); err == nil {
		err = deleteErr
	}
	if err != nil {
		return ociFailed(exitRuntime, errors.Join(err))
	}
	return status
}
