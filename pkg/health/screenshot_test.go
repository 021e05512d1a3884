package health

import (
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/chromium"
)

// newPageServer serves the handler on loopback for the test's life.
func newPageServer(t *testing.T, h *Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestStatusPageScreenshot renders the page in a real headless Chromium and checks that
// it drew something: the right size and more than a blank page's few colours. It needs
// Debian's chromium package, which `make status-page` installs; without it, and under
// -short, the test is skipped.
func TestStatusPageScreenshot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a headless Chromium: skipped under -short")
	}
	bin, err := chromium.Find()
	if err != nil {
		t.Skipf("%v; `make status-page` installs it", err)
	}
	m, q, ev := pageFixture()
	url := newPageServer(t, NewHandler(newTestChecker(m, q, ev), nil)) + RouteStatus
	out := filepath.Join(t.TempDir(), "status.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := chromium.Screenshot(ctx, bin, url, out, 1200, 900); err != nil {
		t.Fatalf("Screenshot() error = %v", err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %dx%d, want 1200x900", b.Dx(), b.Dy())
	}
	colours := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot has %d colours, want a rendered page (text, badge, bars)", len(colours))
	}
	// The bars are drawn in the page's deliveries blue (#2563eb).
	if !colours[[3]uint32{0x25, 0x63, 0xeb}] {
		t.Errorf("screenshot has no deliveries-blue pixel, want the chart's bars")
	}
}
