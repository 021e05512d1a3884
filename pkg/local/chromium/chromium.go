// Package chromium drives a headless Chromium: screenshots of pages, so that the status
// page can be looked at, not only parsed, and the DOM of a page after its scripts ran, so
// that browser flows (the installation relay) are walked by a real browser.
package chromium

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// Find returns the path of a Chromium binary on PATH (Debian names it chromium).
func Find() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (Debian: apt-get install -y chromium)")
}

// Screenshot loads url in a headless Chromium with a fresh profile, no network
// services of its own (no sync, updates or QUIC) and a width×height window, and
// writes a PNG to out.
func Screenshot(ctx context.Context, binary, url, out string, width, height int) error {
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		return fmt.Errorf("screenshot: profile dir: %w", err)
	}
	defer os.RemoveAll(profile)
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("screenshot: remove old %s: %w", out, err)
	}
	cmd := exec.CommandContext(ctx, binary,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+profile,
		"--screenshot="+out, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), url)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("screenshot: %s: %w: %s", binary, err, lastLines(output.Bytes(), 5))
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		return fmt.Errorf("screenshot: %s wrote no image: %s", binary, lastLines(output.Bytes(), 5))
	}
	return nil
}

// DumpDOM loads url in a headless Chromium with a fresh profile, following redirects as
// a browser does (a URL fragment survives them), lets the page's scripts and their
// requests run for up to budget of virtual time, and returns the serialized DOM.
func DumpDOM(ctx context.Context, binary, url string, budget time.Duration) (string, error) {
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		return "", fmt.Errorf("dump dom: profile dir: %w", err)
	}
	defer os.RemoveAll(profile)
	cmd := exec.CommandContext(ctx, binary,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10),
		"--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("dump dom: %s: %w: %s", binary, err, lastLines(stderr.Bytes(), 5))
	}
	if stdout.Len() == 0 {
		return "", fmt.Errorf("dump dom: %s printed no DOM: %s", binary, lastLines(stderr.Bytes(), 5))
	}
	return stdout.String(), nil
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}
