//go:build linux

package main

import (
	"io"
	"os"
	"time"
)

// "stepbox logs -f ID" is tail -f for a container: it prints the log so
// far, then what is appended to it, until the container has ended, and
// exits 0 (Ctrl-C ends it sooner, as it does any program).
//
// The log is the container's stdout and stderr themselves: the kernel
// appends to it as the command writes, and no runtime stands in between
// to tell anyone. So logs -f looks every tenth of a second: it copies
// whatever is new (a read at the end of the file returns nothing at
// once), then reads the state, as ps does. A tenth of a second is
// quicker than a person reads and costs a couple of small reads each
// time, no busy CPU. (inotify(7) would wake it on each write instead,
// and tail -f uses it, but a runtime that dies writes nothing: the state
// must be polled anyway.)

// followInterval is how often logs -f looks for new lines and the end.
const followInterval = 100 * time.Millisecond

// followLog copies what is appended to the log f, from where it stands,
// until the container has ended. Whether it has is read before each
// copy, so what it wrote before its end is still copied after.
func followLog(st *state, f *os.File) error {
	for {
		ended := containerEnded(st.dir)
		if _, err := io.Copy(os.Stdout, f); err != nil {
			return err
		}
		if ended {
			return nil
		}
		time.Sleep(followInterval)
	}
}

// containerEnded reports whether the container has ended: its runtime
// recorded the end or died, or its directory is gone (rm, or run -d
// --rm, which removes it as it ends).
func containerEnded(dir string) bool {
	st, err := loadState(dir)
	return err != nil || !st.live()
}
