package main

import (
	"os"
	"syscall"
)

// stopWithParent asks the kernel for SIGTERM when the parent process dies. `make dev`
// runs the stack under `go run`, which passes no signal on: a terminal's Ctrl-C reaches
// the whole process group, but a SIGTERM or SIGKILL sent to make or go alone would
// otherwise leave the stack and its children running.
func stopWithParent() {
	ppid := os.Getppid()
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if os.Getppid() != ppid {
		// The parent died before the request took effect.
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
