package lambdarie

import "syscall"

// sysProcAttr makes the kernel kill an emulator when the process that started it dies
// (the emulator's function process then exits too, its runtime API gone), and puts it in
// its own process group, so that a Ctrl-C in the terminal reaches only the stack, which
// stops its emulators in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
