package redeliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/metrics"
)

// newClient starts a GitHub sandbox and an App client that talks to it through the real
// ghinstallation + go-github stack, so that the App JWT is checked on every call.
func newClient(t *testing.T, onRedeliver func(ghsandbox.Delivery) int) (*ghsandbox.Sandbox, *ghapp.Client) {
	t.Helper()
	sb, url := ghsandbox.NewServer(t, ghsandbox.Options{AppID: 42, OnRedeliver: onRedeliver})
	c, err := ghapp.New(ghapp.Config{AppID: 42, PrivateKey: sb.PrivateKeyPEM(), APIURL: url + "/", WebURL: url + "/"})
	if err != nil {
		t.Fatalf("ghapp.New() error = %v", err)
	}
	return sb, c
}

func TestRunRedeliversFailedGUIDs(t *testing.T) {
	sb, client := newClient(t, func(ghsandbox.Delivery) int { return 202 })
	now := time.Now().UTC().Truncate(time.Second)
	add := func(guid string, ago time.Duration, code int) ghsandbox.Delivery {
		return sb.AddDelivery(ghsandbox.Delivery{GUID: guid, DeliveredAt: now.Add(-ago), StatusCode: code, Event: "push", InstallationID: 1})
	}
	failedOnce := add("failed-once", 10*time.Minute, 502)
	add("recovered", 20*time.Minute, 502)
	add("recovered", 15*time.Minute, 202)
	add("too-fresh", 30*time.Second, 503)
	for i := range DefaultMaxAttempts {
		add("hopeless", time.Duration(60-i)*time.Minute, 500)
	}
	add("too-old", 7*time.Hour, 502)
	add("refused-for-good", 30*time.Minute, 413)
	rotation := add("secret-rotation", 35*time.Minute, 401)
	add("failed-twice", 50*time.Minute, 502)
	failedTwiceLatest := add("failed-twice", 40*time.Minute, 504)

	var logs bytes.Buffer
	var emf bytes.Buffer
	job := New(client, Config{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: metrics.New(&emf, "")})
	res, err := job.Run(context.Background())
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	want := Result{Attempts: 13, Failed: 6, Redelivered: 3, Pending: 1, Abandoned: 1, Refused: 1}
	if res != want {
		t.Errorf("Run() = %+v, want %+v", res, want)
	}
	// "too-old" is outside the lookback window, so 13 of the 14 attempts are listed.
	// The newest attempt of each failed GUID, oldest GUID first.
	if got, wantIDs := sb.Redelivered(), []int64{failedTwiceLatest.ID, rotation.ID, failedOnce.ID}; !slices.Equal(got, wantIDs) {
		t.Errorf("Redelivered() = %v, want %v", got, wantIDs)
	}
	var line map[string]any
	if err := json.Unmarshal(emf.Bytes(), &line); err != nil || line[metrics.DeliveriesRedelivered] != float64(3) {
		t.Errorf("metrics line = %s (%v), want %s = 3", emf.String(), err, metrics.DeliveriesRedelivered)
	}
	if !bytes.Contains(logs.Bytes(), []byte(`"github_delivery_id":"hopeless"`)) {
		t.Errorf("logs do not name the abandoned delivery: %s", logs.String())
	}

	// The redeliveries succeeded (the sandbox recorded OK attempts): a second run has
	// nothing left to do but the one still too fresh.
	res, err = job.Run(context.Background())
	if err != nil {
		t.Fatalf("second Run() error = %v", err)
	}
	if res.Redelivered != 0 || len(sb.Redelivered()) != 3 {
		t.Errorf("second Run() = %+v, redelivered ids %v, want no new redelivery", res, sb.Redelivered())
	}
}

func TestRunBounds(t *testing.T) {
	sb, client := newClient(t, func(ghsandbox.Delivery) int { return 500 })
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 5 {
		sb.AddDelivery(ghsandbox.Delivery{GUID: string(rune('a' + i)), DeliveredAt: now.Add(-time.Duration(10+i) * time.Minute), StatusCode: 502, Event: "issues"})
	}
	res, err := New(client, Config{MaxPerRun: 2}).Run(context.Background())
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if res.Redelivered != 2 || res.Pending != 3 {
		t.Errorf("Run(MaxPerRun 2) = %+v, want 2 redelivered and 3 pending", res)
	}
	// The two oldest go first.
	ids := sb.Redelivered()
	got := map[string]bool{}
	for _, d := range sb.Deliveries() {
		if slices.Contains(ids, d.ID) {
			got[d.GUID] = true
		}
	}
	if !got["e"] || !got["d"] {
		t.Errorf("redelivered GUIDs = %v, want the oldest, d and e", got)
	}
}

type fakeGitHub struct {
	list       []ghapp.HookDelivery
	listErr    error
	redeliverE error
	asked      []int64
}

func (f *fakeGitHub) HookDeliveries(context.Context, time.Time) ([]ghapp.HookDelivery, error) {
	return f.list, f.listErr
}

func (f *fakeGitHub) Redeliver(_ context.Context, id int64) error {
	f.asked = append(f.asked, id)
	return f.redeliverE
}

func TestRunErrors(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	t.Run("listing fails", func(t *testing.T) {
		_, err := New(&fakeGitHub{listErr: errors.New("502")}, Config{Now: clock}).Run(context.Background())
		if err == nil {
			t.Errorf("Run() error = nil, want the listing error")
		}
	})
	t.Run("every redelivery refused", func(t *testing.T) {
		f := &fakeGitHub{
			list:       []ghapp.HookDelivery{{ID: 7, GUID: "g", DeliveredAt: now.Add(-time.Hour), Status: "Invalid HTTP Response: 502"}},
			redeliverE: errors.New("rate limited"),
		}
		res, err := New(f, Config{Now: clock}).Run(context.Background())
		if err == nil || res.Errors != 1 || !slices.Equal(f.asked, []int64{7}) {
			t.Errorf("Run() = %+v, %v (asked %v), want 1 error reported", res, err, f.asked)
		}
	})
	t.Run("lookback capped at three days", func(t *testing.T) {
		j := New(&fakeGitHub{}, Config{Lookback: 30 * 24 * time.Hour})
		if j.cfg.Lookback != MaxLookback {
			t.Errorf("New(30 days).Lookback = %s, want %s", j.cfg.Lookback, MaxLookback)
		}
	})
}
