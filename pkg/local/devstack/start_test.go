package devstack

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// TestStartNamesTheFailingComponent: a stack that cannot start says which component
// failed, and why, before starting anything else.
func TestStartNamesTheFailingComponent(t *testing.T) {
	root, err := standin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	binDir := t.TempDir()
	withBins := t.TempDir()
	if err := buildFakeBins(withBins, root); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		opts          Options
		wantComponent string
		wantText      string
	}{
		{"functions not built", Options{BinDir: binDir}, "function ", "make build"},
		{"HTTP API port taken", Options{BinDir: withBins, Addr: busy.Addr().String()}, "http api", "another address"},
		{"address without a port", Options{BinDir: withBins, Addr: "127.0.0.1"}, "setup", "127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Root, tc.opts.StateDir, tc.opts.RIE = root, t.TempDir(), "unused"
			_, err := Start(context.Background(), tc.opts)
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("Start() error = %v, want a *StartError", err)
			}
			if !strings.HasPrefix(se.Component, tc.wantComponent) || !strings.Contains(se.Error(), tc.wantText) {
				t.Errorf("Start() error = %q (component %q), want component %q and %q", se.Error(), se.Component, tc.wantComponent, tc.wantText)
			}
		})
	}
}

// buildFakeBins writes a placeholder bin/<function>/bootstrap for every function, enough
// for the checks that run before the stack starts anything.
func buildFakeBins(dir, root string) error {
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	for _, fn := range tpl.Functions() {
		p := filepath.Join(dir, fn.Name, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			return err
		}
	}
	return nil
}
