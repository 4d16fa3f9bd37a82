//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Hooks are the engine's programs, run at fixed points of the lifecycle
// with the container's state (the spec's JSON) on their stdin:
//
//	prestart, createRuntime   by create, outside, while the init waits (prestart is the old name)
//	createContainer           by the init, in the container's namespaces, before pivot_root
//	startContainer            by the init, after start, just before execve
//	poststart                 by start, once the program runs (a failure is only logged)
//	poststop                  by delete, once the container is gone (a failure is only logged)
//
// A hook that fails before the program runs fails the whole operation,
// which then removes what it made.

// runHooks runs the hooks of one kind, in order.
func runHooks(kind string, hooks *specs.Hooks, r *record) error {
	for _, h := range hooksOf(kind, hooks) {
		if err := runHook(kind, h, r); err != nil {
			return err
		}
	}
	return nil
}

// hooksOf picks one kind of hooks from config.json.
func hooksOf(kind string, h *specs.Hooks) []specs.Hook {
	if h == nil {
		return nil
	}
	return map[string][]specs.Hook{
		"prestart": h.Prestart, "createRuntime": h.CreateRuntime, "createContainer": h.CreateContainer,
		"startContainer": h.StartContainer, "poststart": h.Poststart, "poststop": h.Poststop,
	}[kind]
}

// runHook runs one hook: its path, with its args (args[0] is its name,
// as in execve) and only its env, the state on stdin, and its timeout.
func runHook(kind string, h specs.Hook, r *record) error {
	timeout := time.Minute
	if h.Timeout != nil && *h.Timeout > 0 {
		timeout = time.Duration(*h.Timeout) * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	state, _ := json.Marshal(r.specState()) // strings and ints always encode
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("%s hook %s timed out after %v", kind, h.Path, timeout)
	}
	if said := strings.TrimSpace(out.String()); err != nil && said != "" {
		return fmt.Errorf("%s hook %s failed: %w: %s", kind, h.Path, err, said)
	}
	if err != nil {
		return fmt.Errorf("%s hook %s failed: %w", kind, h.Path, err)
	}
	return nil
}
