package child

import (
	"bufio"
	"os/exec"
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
