// Package child runs the child processes of the local stack and of the tests (the
// stand-ins dynalite and fauxqs, the Lambda runtime interface emulators) so that none
// outlives its parent, and stops them gently.
package child

import (
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a started child process.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	once sync.Once
}

// Start starts cmd in its own process group, so that a Ctrl-C in the terminal reaches
// only the parent, which stops its children in order; on Linux the kernel also kills the
// child when the parent dies, so that a test binary killed by a timeout leaves nothing
// behind. drain, when not nil, is waited for before the process is reaped: the readers
// of its output pipes, which reaping would close under them (add to it before Start).
func Start(cmd *exec.Cmd, drain *sync.WaitGroup) (*Process, error) {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		if drain != nil {
			drain.Wait()
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited (nil for status 0); it is meaningful once Done is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop ends the process and whatever it started in its process group (the emulator's
// function process, a shell's commands): SIGTERM to the group, then SIGKILL if the
// process has not exited after grace. It returns once the process has exited; later
// calls wait for the first.
func (p *Process) Stop(grace time.Duration) {
	p.once.Do(func() {
		p.signal(syscall.SIGTERM)
		p.signal(syscall.SIGCONT) // a paused process handles SIGTERM only once continued
		select {
		case <-p.done:
		case <-time.After(grace):
			p.signal(syscall.SIGKILL)
			<-p.done
		}
	})
}

// Pause stops the process and its group (SIGSTOP) without ending it: it keeps its
// sockets and state but answers nothing until Resume, as a hung dependency does.
func (p *Process) Pause() { p.signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (p *Process) Resume() { p.signal(syscall.SIGCONT) }

// Kill ends the process, its group and every process it started at once (SIGKILL), as
// a crash does: nothing is cleaned up. Done is closed once it has been reaped.
func (p *Process) Kill() {
	kids := descendants(p.cmd.Process.Pid)
	p.signal(syscall.SIGKILL)
	for _, pid := range kids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// signal sends sig to the process's group, or to the process alone if the group is gone.
func (p *Process) signal(sig syscall.Signal) {
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}
