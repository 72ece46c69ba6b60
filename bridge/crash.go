package bridge

import (
	"os"
	"syscall"
)

// crashPoint kills the process at a configured point, so tests can prove
// that a crash anywhere in an ingest loses and duplicates nothing. It is
// inert unless Config.CrashAt names the point.
func (b *Bridge) crashPoint(name string) {
	if b.cfg.CrashAt != "" && b.cfg.CrashAt == name {
		syscall.Kill(os.Getpid(), syscall.SIGKILL) //nolint:errcheck
		select {}                                  // SIGKILL cannot be caught; wait for it
	}
}
