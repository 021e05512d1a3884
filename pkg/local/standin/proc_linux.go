package standin

import "syscall"

// sysProcAttr makes the kernel kill a stand-in when the process that started it dies, so
// that a test binary killed by a timeout leaves no server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
