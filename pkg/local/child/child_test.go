package child

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStopTerminatesThenKills(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   string // how the process ended
	}{
		{"ends on SIGTERM", "sleep 30", "signal: terminated"},
		// The trap makes the shell ignore SIGTERM; only SIGKILL, after the grace, ends it.
		{"ignores SIGTERM", `trap "" TERM; echo ready; while :; do sleep 0.05; done`, "signal: killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tt.script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var drain sync.WaitGroup
			drain.Add(1)
			p, err := Start(cmd, &drain)
			if err != nil {
				t.Fatalf("Start() error = %v", err)
			}
			lines := bufio.NewScanner(out)
			if strings.Contains(tt.script, "ready") && !lines.Scan() {
				t.Fatal("the script never got ready")
			}
			go func() {
				defer drain.Done()
				for lines.Scan() {
				}
			}()
			// The shell's own child (sleep) holds the output pipe: Stop returns only once
			// the whole group has ended.
			stopped := make(chan struct{})
			go func() {
				p.Stop(200 * time.Millisecond)
				close(stopped)
			}()
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("Stop() did not return: a process of the group outlived it")
			}
			select {
			case <-p.Done():
			default:
				t.Fatal("Stop() returned before the process exited")
			}
			if got := p.Err(); got == nil || got.Error() != tt.want {
				t.Errorf("after Stop(), Err() = %v, want %s", got, tt.want)
			}
			p.Stop(time.Second) // a second Stop returns at once
		})
	}
}

func TestStartFailsOnMissingExecutable(t *testing.T) {
	if _, err := Start(exec.Command("/nonexistent/binary"), nil); err == nil {
		t.Error("Start(/nonexistent/binary) error = nil, want one")
	}
}

func TestErrBeforeExit(t *testing.T) {
	p, err := Start(exec.Command("sleep", "30"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if err := p.Err(); err != nil {
		t.Errorf("Err() of a running process = %v, want nil", err)
	}
}

// TestPauseResume: a paused process stops running (state T) until resumed, and a paused
// process still stops.
func TestPauseResume(t *testing.T) {
	state := func(p *Process) string {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		// pid (comm) STATE ...
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		return f[0]
	}
	waitState := func(p *Process, want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for state(p) != want {
			if time.Now().After(deadline) {
				t.Fatalf("process state = %s, want %s", state(p), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	p, err := Start(exec.Command("sleep", "30"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Pause()
	waitState(p, "T")
	p.Resume()
	waitState(p, "S")
	p.Pause()
	waitState(p, "T")
	p.Stop(2 * time.Second)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("a paused process stopped with %v, want terminated by SIGTERM", err)
	}
}
