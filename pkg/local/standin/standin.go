// Package standin starts the local stand-ins for AWS — dynalite for DynamoDB and fauxqs
// for SQS — as child processes on 127.0.0.1, for the tests and for the local stack. Both
// are npm packages pinned by package.json and package-lock.json beside this file; fauxqs
// needs Node.js 22, which the npm package "node" provides without touching the system Node.
//
// Tests get them through DynamoDB, SQS (and Dynalite, Fauxqs, SharedTables, NewTables):
// one of each per test binary, started on first use and stopped by Main, which the
// package's TestMain calls. Under -short those tests are skipped, so that `make
// test-short` needs neither Node nor the npm packages.
package standin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/repotrackr/github-integration/pkg/local/child"
)

// Region is the region every local client uses.
const Region = "us-east-1"

// ErrNotInstalled means the npm packages are missing: run `make deps` (or `make test`).
var ErrNotInstalled = errors.New("local stand-ins not installed: run `make deps` (npm ci in pkg/local/standin)")

// Options configures one stand-in process.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// DataDir keeps the data between runs; empty keeps it in memory.
	DataDir string
	// Log receives the process's output; nil discards it.
	Log io.Writer
}

// Server is a running stand-in.
type Server struct {
	Name string
	// URL is the endpoint, e.g. http://127.0.0.1:4567.
	URL  string
	Port int

	proc *child.Process
}

// Dir returns the directory holding package.json and node_modules.
func Dir() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "pkg", "local", "standin"), nil
}

// ModuleRoot finds the directory of go.mod from the working directory upwards.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func nodeBinary(dir string) (string, error) {
	node := filepath.Join(dir, "node_modules", ".bin", "node")
	if _, err := os.Stat(node); err != nil {
		return "", ErrNotInstalled
	}
	return node, nil
}

// StartDynalite starts dynalite (through dynalite.cjs, which makes a refused conditional
// write return the stored item as DynamoDB does) and waits until it answers.
func StartDynalite(ctx context.Context, opts Options) (*Server, error) {
	return start(ctx, "dynalite", opts, func(dir string, port int, dataDir string) (args, env []string) {
		args = []string{filepath.Join(dir, "dynalite.cjs"),
			"--host", "127.0.0.1", "--port", strconv.Itoa(port),
			// Tables become ACTIVE at once instead of after dynalite's simulated delay.
			"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"}
		if dataDir != "" {
			args = append(args, "--path", dataDir)
		}
		return args, nil
	})
}

// StartFauxqs starts fauxqs (through fauxqs.mjs, which keeps it on loopback) and waits
// until it answers.
func StartFauxqs(ctx context.Context, opts Options) (*Server, error) {
	return start(ctx, "fauxqs", opts, func(dir string, port int, dataDir string) (args, env []string) {
		env = []string{"FAUXQS_PORT=" + strconv.Itoa(port), "FAUXQS_HOST=localhost", "FAUXQS_LOGGER=false"}
		if dataDir != "" {
			env = append(env, "FAUXQS_DATA_DIR="+filepath.Join(dataDir, "fauxqs.db"))
		}
		// --no-warnings hides Node's "SQLite is experimental" notice.
		return []string{"--no-warnings", filepath.Join(dir, "fauxqs.mjs")}, env
	})
}

// start runs a stand-in with Node and waits until it answers. command gives its Node
// arguments and environment for the package directory, the port and the data directory
// ("" keeps the data in memory).
func start(ctx context.Context, name string, opts Options, command func(dir string, port int, dataDir string) (args, env []string)) (*Server, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	node, err := nodeBinary(dir)
	if err != nil {
		return nil, err
	}
	port, err := pickPort(opts.Port)
	if err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("%s data dir: %w", name, err)
		}
	}
	args, env := command(dir, port, opts.DataDir)
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = log
	cmd.Stderr = log
	proc, err := child.Start(cmd, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := &Server{Name: name, URL: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, proc: proc}
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.proc.Done():
			return fmt.Errorf("%s exited before it was ready: %v", s.Name, s.proc.Err())
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", s.Name, ctx.Err())
		default:
		}
		resp, err := client.Get(s.URL)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering on %s after %s", s.Name, s.URL, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// Pause makes the stand-in unresponsive (SIGSTOP): connections are accepted by the
// kernel but nothing answers until Resume, which is how an AWS outage looks to a client.
func (s *Server) Pause() { s.proc.Pause() }

// Resume ends a Pause.
func (s *Server) Resume() { s.proc.Resume() }

// Stop ends the process (SIGTERM, then SIGKILL after two seconds) and waits for it.
func (s *Server) Stop() error {
	s.proc.Stop(2 * time.Second)
	return nil
}

// AWSConfig returns an SDK config for this stand-in: static dummy credentials, the
// local region, and the stand-in as the base endpoint of every service.
func (s *Server) AWSConfig(ctx context.Context) (aws.Config, error) {
	return AWSConfig(ctx, s.URL)
}

// AWSConfig returns an SDK config with dummy credentials and endpoint as base endpoint.
func AWSConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		config.WithBaseEndpoint(endpoint),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config for %s: %w", endpoint, err)
	}
	return cfg, nil
}

// pickPort returns port, or a free loopback port when port is 0.
func pickPort(port int) (int, error) {
	if port != 0 {
		return port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	addr := l.Addr().String()
	p, err := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	if err != nil {
		return 0, fmt.Errorf("free port from %q: %w", addr, err)
	}
	return p, nil
}
