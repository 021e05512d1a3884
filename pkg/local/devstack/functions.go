package devstack

import (
	"context"
	"maps"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
)

// startFunctions starts every function of the template under the emulator.
func (s *Stack) startFunctions(ctx context.Context, functions []samtemplate.Function) error {
	width := 10
	for _, fn := range functions {
		width = max(width, len(fn.Name)+2)
	}
	s.con.width = width
	for _, fn := range functions {
		env, err := FunctionEnv(s.tpl, fn, s.Info.Resources)
		if err != nil {
			return s.fail("function "+fn.Name, err)
		}
		maps.Copy(env, s.opts.FunctionEnv[fn.Name])
		log, err := openLog(s.st.path(dirLogs), fn.Name+".log")
		if err != nil {
			return s.fail("function "+fn.Name, err)
		}
		s.logs = append(s.logs, log)
		pool, err := lambdarie.Start(ctx, lambdarie.Function{
			Name:      fn.Name,
			Bootstrap: s.bootstrap(fn.Name),
			Env:       env,
			Timeout:   time.Duration(fn.Timeout) * time.Second,
			MemoryMB:  fn.MemorySize,
		}, lambdarie.Options{
			RIE:          s.opts.RIE,
			Dir:          s.opts.Root,
			MaxInstances: s.opts.MaxConcurrency,
			Output:       s.functionOutput(fn.Name, log),
			EmulatorLog:  s.emulatorOutput(fn.Name, log),
		})
		if err != nil {
			return s.fail("function "+fn.Name, err)
		}
		s.onClose("function "+fn.Name, pool.Close)
		s.Functions[fn.Name] = pool
		s.con.progress("lambda: %s (%s, timeout %ds) under the emulator", fn.Name, fn.LogicalID, fn.Timeout)
	}
	return nil
}

// functionOutput shows a function's log lines on the console, keeps them all in its log
// file, and hands them to the CloudWatch stand-in, which reads the EMF ones. EMF lines
// and the emulator's START, END and REPORT lines stay off the console (they are in the
// log file).
func (s *Stack) functionOutput(name string, log *logFile) func([]byte) {
	return func(line []byte) {
		log.line(line)
		s.metricLine(line)
		if isEMF(line) || hasPrefix(line, "START RequestId:") || hasPrefix(line, "END RequestId:") || hasPrefix(line, "REPORT RequestId:") {
			return
		}
		s.con.line(name, line)
	}
}

// emulatorOutput keeps the emulator's own log in the function's log file and shows only
// its warnings and errors (a crashed or timed-out function).
func (s *Stack) emulatorOutput(name string, log *logFile) func([]byte) {
	return func(line []byte) {
		log.line(line)
		if strings.Contains(string(line), "[ERROR]") {
			s.con.line(name, line)
		}
	}
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func isEMF(line []byte) bool { return strings.Contains(string(line), `"_aws":{`) }
