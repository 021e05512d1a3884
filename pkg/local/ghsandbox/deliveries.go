package ghsandbox

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Delivery is one attempt to deliver a webhook of the App, as GET /app/hook/deliveries
// lists it.
type Delivery struct {
	ID int64
	// GUID is the X-GitHub-Delivery value, constant across redeliveries.
	GUID           string
	DeliveredAt    time.Time
	Redelivery     bool
	Duration       float64
	Status         string // "OK" for a 2xx answer
	StatusCode     int
	Event          string
	Action         string
	InstallationID int64
	RepositoryID   int64
}

func deliveryStatus(code int) string {
	if code >= 200 && code < 300 {
		return "OK"
	}
	return fmt.Sprintf("Invalid HTTP Response: %d", code)
}

// AddDelivery records a delivery attempt. A zero ID, GUID or DeliveredAt is filled in
// (a new id, a random GUID, now); an empty Status follows StatusCode.
func (s *Sandbox) AddDelivery(d Delivery) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addDeliveryLocked(d)
}

func (s *Sandbox) addDeliveryLocked(d Delivery) Delivery {
	if d.ID == 0 {
		d.ID = s.nextDeliveryID
	}
	if d.ID >= s.nextDeliveryID {
		s.nextDeliveryID = d.ID + 1
	}
	if d.GUID == "" {
		d.GUID = newGUID()
	}
	if d.DeliveredAt.IsZero() {
		d.DeliveredAt = s.now()
	}
	d.DeliveredAt = d.DeliveredAt.UTC().Truncate(time.Second)
	if d.Status == "" {
		d.Status = deliveryStatus(d.StatusCode)
	}
	s.deliveries = append(s.deliveries, d)
	return d
}

// Deliveries returns the recorded attempts, newest first.
func (s *Sandbox) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedDeliveriesLocked()
}

func (s *Sandbox) sortedDeliveriesLocked() []Delivery {
	out := append([]Delivery(nil), s.deliveries...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].DeliveredAt.Equal(out[j].DeliveredAt) {
			return out[i].DeliveredAt.After(out[j].DeliveredAt)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// Redelivered returns the delivery ids redelivery was requested for, in order.
func (s *Sandbox) Redelivered() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.redelivered...)
}

func deliveryJSON(d Delivery) map[string]any {
	return map[string]any{
		"id":              d.ID,
		"guid":            d.GUID,
		"delivered_at":    timeString(d.DeliveredAt),
		"redelivery":      d.Redelivery,
		"duration":        d.Duration,
		"status":          d.Status,
		"status_code":     d.StatusCode,
		"event":           d.Event,
		"action":          d.Action,
		"installation_id": d.InstallationID,
		"repository_id":   d.RepositoryID,
		"throttled_at":    nil,
	}
}

// handleDeliveries lists attempts newest first with cursor pagination: the cursor names
// the last delivery of the previous page.
func (s *Sandbox) handleDeliveries(w http.ResponseWriter, r *http.Request) {
	if !s.requireApp(w, r) {
		return
	}
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = 30
	}
	per = min(per, 100)
	s.mu.Lock()
	list := s.sortedDeliveriesLocked()
	s.mu.Unlock()
	start := 0
	if c := q.Get("cursor"); c != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(c, "v1_"), 10, 64)
		if err != nil || !strings.HasPrefix(c, "v1_") {
			writeError(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
		start = len(list)
		for i, d := range list {
			if d.ID == id {
				start = i + 1
				break
			}
		}
	}
	end := min(start+per, len(list))
	if end < len(list) {
		q.Set("per_page", strconv.Itoa(per))
		q.Set("cursor", "v1_"+strconv.FormatInt(list[end-1].ID, 10))
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, baseURL(r), r.URL.Path, q.Encode()))
	}
	out := []map[string]any{}
	for _, d := range list[start:end] {
		out = append(out, deliveryJSON(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleRedeliver records a redelivery request and its new attempt (same GUID).
func (s *Sandbox) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	if !s.requireApp(w, r) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.mu.Lock()
	var orig *Delivery
	for i := range s.deliveries {
		if s.deliveries[i].ID == id {
			orig = &s.deliveries[i]
			break
		}
	}
	if orig == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	next := *orig
	s.redelivered = append(s.redelivered, id)
	s.mu.Unlock()

	// A delivery the sandbox sent is sent again, same payload and GUID, in the
	// background as GitHub does after its 202; the new attempt records the real answer.
	if s.redeliver(next) {
		writeJSON(w, http.StatusAccepted, map[string]any{})
		return
	}
	code := http.StatusOK
	if s.opts.OnRedeliver != nil {
		code = s.opts.OnRedeliver(next)
	}
	next.ID, next.Redelivery, next.DeliveredAt, next.StatusCode, next.Status = 0, true, time.Time{}, code, ""
	s.AddDelivery(next)
	writeJSON(w, http.StatusAccepted, map[string]any{})
}
