//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The engines read a runtime's errors from its log file, not its stderr:
// containerd's shim passes --log FILE --log-format json and, when a call
// fails, reports the last {"level":"error","msg":...} line to the user;
// conmon does the same. A runtime that only prints to stderr fails with
// an empty message. So every OCI error goes to both.

// ociLog is where errors go besides stderr, set from the global flags.
var ociLog struct {
	path  string
	json  bool
	debug bool
}

// setupLog remembers the --log file, made absolute, and its format:
// the init starts in a joined mount namespace's / when it has one, so a
// relative path would name another file there.
func setupLog(g globals) {
	ociLog.path, ociLog.json, ociLog.debug = g.logFile, g.logFormat == "json", g.debug
	if abs, err := filepath.Abs(g.logFile); err == nil && g.logFile != "" {
		ociLog.path = abs
	}
}

// logLine is one JSON log line, the shape logrus (runc's logger) writes.
type logLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	Time  string `json:"time"`
}

// writeLog appends one line to the --log file, if there is one. A log
// that cannot be written must not hide the error being logged: it is
// dropped, and the error still reaches stderr.
func writeLog(level, msg string) {
	if ociLog.path == "" {
		return
	}
	f, err := os.OpenFile(ociLog.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if !ociLog.json {
		fmt.Fprintf(f, "time=%q level=%s msg=%q\n", now, level, msg)
		return
	}
	line, _ := json.Marshal(logLine{Level: level, Msg: msg, Time: now}) // three strings always encode
	fmt.Fprintf(f, "%s\n", line)
}

// ociFailed is failed for the OCI commands: one line on stderr and one
// in the log, then the exit status.
func ociFailed(status int, err error) int {
	writeLog("error", err.Error())
	return failed(status, err)
}

// ociWarn logs something left undone; with --debug it goes to stderr
// too. Engines treat any output of the runtime's as the container's, or
// as a failure, so a warning never reaches stderr unasked.
func ociWarn(format string, args ...any) {
	writeLog("warning", fmt.Sprintf(format, args...))
	if ociLog.debug {
		warn(format, args...)
	}
}
