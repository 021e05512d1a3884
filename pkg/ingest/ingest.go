// Package ingest is the webhook ingest function: it verifies a GitHub delivery arriving
// through API Gateway (HTTP API, payload v2), turns it into a slim envelope and puts that
// on the events queue with one SendMessage, so that GitHub gets its answer in
// milliseconds and everything slow happens behind the queue.
//
// README.md in this folder is the operator's reference: every answer and its reason code,
// secret rotation, the envelope's fields and size budget, the log line, the metrics and
// the measured performance.
package ingest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/logging"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/webhook"
)

// MaxBodyBytes is the largest delivery body accepted, decoded: 4.5 MiB. Lambda refuses
// invocation payloads over 6 MB, and API Gateway may base64-encode the body, which
// grows it by a third; 4.5 MiB is the largest body whose base64 form (6 MiB) is still of
// that order, so the limit is the same whichever way API Gateway passes the body. GitHub
// sends up to 25 MB; what is larger than this cannot reach a Lambda function at all.
const MaxBodyBytes = 4608 * 1024

// sendMargin is kept back from the invocation deadline so that a SendMessage that hangs
// still ends in a logged 503 rather than a Lambda timeout.
const sendMargin = 300 * time.Millisecond

// Rejection reasons: the Reason dimension of DeliveriesRejected and the reason field of
// the delivery's log line. They are stable; dashboards and alarms use them.
const (
	ReasonTooLarge           = "too_large"
	ReasonBadEncoding        = "bad_encoding"
	ReasonMissingHeader      = "missing_header"
	ReasonBadHeader          = "bad_header"
	ReasonUnsupportedMedia   = "unsupported_media_type"
	ReasonNoSecret           = "no_secret"
	ReasonMissingSignature   = "missing_signature"
	ReasonMalformedSignature = "malformed_signature"
	ReasonBadSignature       = "bad_signature"
	ReasonBadPayload         = "bad_payload"
	ReasonEnvelopeTooLarge   = "envelope_too_large"
	ReasonEnqueueFailed      = "enqueue_failed"
	ReasonInternal           = "internal"
)

// Outcomes of a delivery, the outcome field of its log line.
const (
	OutcomeQueued   = "queued"
	OutcomePong     = "pong"
	OutcomeRejected = "rejected" // 4xx: GitHub sent something we refuse
	OutcomeFailed   = "failed"   // 5xx: we could not take a good delivery
)

// Lower-case header names: API Gateway sends them so, which makes the first lookup hit.
var (
	hdrEvent       = strings.ToLower(webhook.HeaderEvent)
	hdrDelivery    = strings.ToLower(webhook.HeaderDelivery)
	hdrSignature   = strings.ToLower(webhook.HeaderSignature256)
	hdrSignature1  = strings.ToLower(webhook.HeaderSignatureSHA1)
	hdrContentType = strings.ToLower(webhook.HeaderContentType)
)

// sender is the one SQS call ingest makes; *sqs.Client implements it.
type sender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Config configures a Handler.
type Config struct {
	// QueueURL is the events queue.
	QueueURL string
	// Secret is the webhook secret: one value, or "current,previous" during a rotation.
	// Empty means no secret, and every delivery is refused.
	Secret string
	// Log receives one line per delivery; nil discards.
	Log *slog.Logger
	// Metrics receives one EMF line per delivery; nil emits none.
	Metrics *metrics.Emitter
	// Now stamps received_at; nil is time.Now.
	Now func() time.Time
	// MaxBodyBytes overrides MaxBodyBytes when positive.
	MaxBodyBytes int
	// MaxMessageBytes overrides envelope.MaxBodyBytes, the envelope budget, when positive.
	MaxMessageBytes int
	// Reload, when set, is asked for the secret again while none is configured, at most
	// once per ReloadEvery (a minute when zero): a Secrets Manager read that failed at
	// cold start must not leave a warm container refusing every delivery for its life.
	Reload      func(ctx context.Context) (string, error)
	ReloadEvery time.Duration
}

// Handler handles POST /webhooks/github. It is safe for concurrent use.
type Handler struct {
	queueURL   string
	verifier   atomic.Pointer[webhook.Verifier]
	reload     func(ctx context.Context) (string, error)
	reloadMu   sync.Mutex
	reloadAt   time.Time // next reload allowed
	reloadGap  time.Duration
	queue      sender
	queueOnce  sync.Once
	newQueue   func() *sqs.Client // set by NewWithLazyQueue
	log        *slog.Logger
	metrics    *metrics.Emitter
	now        func() time.Time
	maxBody    int
	maxMessage int
}

// NewWithLazyQueue returns a Handler whose SQS client newQueue builds on the first
// delivery to be queued, once: a cold start then answers its first request (often a
// refused or unsigned one, or a ping) without building a client it does not need.
func NewWithLazyQueue(cfg Config, newQueue func() *sqs.Client) *Handler {
	h := New(cfg, nil)
	h.newQueue = newQueue
	return h
}

// queueClient returns the queue, building it first when it is built lazily.
func (h *Handler) queueClient() sender {
	if h.newQueue != nil {
		h.queueOnce.Do(func() { h.queue = h.newQueue() })
	}
	return h.queue
}

// New returns a Handler sending to q. It logs once when no secret is configured.
func New(cfg Config, q sender) *Handler {
	h := &Handler{
		queueURL:   cfg.QueueURL,
		reload:     cfg.Reload,
		reloadGap:  cfg.ReloadEvery,
		queue:      q,
		log:        logging.OrDiscard(cfg.Log),
		metrics:    cfg.Metrics,
		now:        cfg.Now,
		maxBody:    cfg.MaxBodyBytes,
		maxMessage: cfg.MaxMessageBytes,
	}
	h.verifier.Store(webhook.NewVerifier(cfg.Secret))
	if h.reloadGap <= 0 {
		h.reloadGap = time.Minute
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.maxBody <= 0 {
		h.maxBody = MaxBodyBytes
	}
	if h.maxMessage <= 0 {
		h.maxMessage = envelope.MaxBodyBytes
	}
	if !h.verifier.Load().Configured() {
		h.log.Error("no webhook secret configured: every delivery will be refused with 401")
	}
	return h
}

// currentVerifier returns the verifier, first trying Reload when no secret is configured
// and the last try is long enough ago. Still no secret: the caller refuses (fail closed).
func (h *Handler) currentVerifier(ctx context.Context) *webhook.Verifier {
	v := h.verifier.Load()
	if v.Configured() || h.reload == nil {
		return v
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	if v = h.verifier.Load(); v.Configured() || h.now().Before(h.reloadAt) {
		return v
	}
	h.reloadAt = h.now().Add(h.reloadGap)
	secret, err := h.reload(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "webhook secret still unavailable", "err", err)
		return v
	}
	if nv := webhook.NewVerifier(secret); nv.Configured() {
		h.verifier.Store(nv)
		h.log.InfoContext(ctx, "webhook secret loaded", "secrets", nv.Secrets())
		return nv
	}
	return v
}

// delivery is what one request's log line and metric say about it.
type delivery struct {
	id, event string
	bodyBytes int
	env       *envelope.Envelope
}

// rejection carries the stable reason code inside an *httpapi.Error's Err.
type rejection struct {
	reason string
	err    error
}

func (r *rejection) Error() string {
	if r.err == nil {
		return r.reason
	}
	return r.reason + ": " + r.err.Error()
}

func (r *rejection) Unwrap() error { return r.err }

// refuse is an error answered with status and message, recorded under reason.
func refuse(status int, message, reason string, err error) error {
	return httpapi.Fail(status, message, &rejection{reason: reason, err: err})
}

func reasonOf(err error) string {
	var r *rejection
	if errors.As(err, &r) {
		return r.reason
	}
	return ReasonInternal
}

type queuedAnswer struct {
	Status     string `json:"status"`
	DeliveryID string `json:"delivery_id"`
	EventType  string `json:"event_type"`
}

// Handle answers one delivery. It never returns an error: every failure is an answer
// (httpapi maps it to its status), a log line and a metric.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	d := delivery{id: httpapi.Header(&req, hdrDelivery), event: httpapi.Header(&req, hdrEvent)}
	resp, err := h.handle(ctx, &req, &d)
	if err != nil {
		resp = httpapi.Respond(nil, err) // logged below, with the delivery's fields
	}
	h.record(ctx, &d, resp.StatusCode, err, time.Since(start))
	return resp, nil
}

func (h *Handler) handle(ctx context.Context, req *events.APIGatewayV2HTTPRequest, d *delivery) (events.APIGatewayV2HTTPResponse, error) {
	// Size first, before decoding anything: base64 text longer than the encoding of
	// maxBody bytes can only decode to more than maxBody.
	limit := h.maxBody
	if req.IsBase64Encoded {
		limit = base64.StdEncoding.EncodedLen(h.maxBody)
	}
	if len(req.Body) > limit {
		return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusRequestEntityTooLarge, "payload too large", ReasonTooLarge,
			fmt.Errorf("body of %d bytes (base64 %t) over the limit of %d bytes", len(req.Body), req.IsBase64Encoded, h.maxBody))
	}
	body, err := requestBody(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusBadRequest, "body is not valid base64", ReasonBadEncoding, err)
	}
	d.bodyBytes = len(body)
	if len(body) > h.maxBody {
		return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusRequestEntityTooLarge, "payload too large", ReasonTooLarge,
			fmt.Errorf("body of %d bytes over the limit of %d bytes", len(body), h.maxBody))
	}

	if err := webhook.CheckHeaders(d.event, d.id); err != nil {
		if errors.Is(err, webhook.ErrMissingEvent) || errors.Is(err, webhook.ErrMissingDelivery) {
			return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusBadRequest, "missing X-GitHub-Event or X-GitHub-Delivery header", ReasonMissingHeader, err)
		}
		return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusBadRequest, "invalid X-GitHub-Event or X-GitHub-Delivery header", ReasonBadHeader, err)
	}

	format, err := webhook.MediaType(httpapi.Header(req, hdrContentType))
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusUnsupportedMediaType, "content type must be application/json or application/x-www-form-urlencoded", ReasonUnsupportedMedia, err)
	}

	// Verify before parsing: nothing of an unsigned body is looked at.
	if err := h.currentVerifier(ctx).Verify(body, httpapi.Header(req, hdrSignature)); err != nil {
		return events.APIGatewayV2HTTPResponse{}, h.signatureRefusal(req, err)
	}

	payload, err := webhook.Payload(format, body)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusBadRequest, "body is not a webhook payload", ReasonBadPayload, err)
	}
	// Build reads the payload once and refuses what is not strict JSON as jsontext's
	// defaults define it (invalid UTF-8, duplicate names, too deep, a second value).
	env, err := envelope.Build(d.event, d.id, payload, h.now())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusBadRequest, "body is not a webhook payload", ReasonBadPayload, err)
	}
	d.env = env
	if d.event == "ping" {
		return httpapi.JSON(http.StatusOK, map[string]string{"status": "pong"}), nil
	}

	msg, err := env.Marshal(h.maxMessage)
	if err != nil {
		if errors.Is(err, envelope.ErrTooLarge) {
			return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusRequestEntityTooLarge, "payload too large", ReasonEnvelopeTooLarge, err)
		}
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("marshal envelope: %w", err)
	}
	if err := h.send(ctx, d, msg); err != nil {
		return events.APIGatewayV2HTTPResponse{}, refuse(http.StatusServiceUnavailable, "could not queue the delivery", ReasonEnqueueFailed, err)
	}
	return httpapi.JSON(http.StatusAccepted, queuedAnswer{Status: "queued", DeliveryID: d.id, EventType: d.event}), nil
}

// requestBody is the delivery's body. A plain body is the request's string viewed as
// bytes, not copied: on a push of a megabyte the copy httpapi.Body makes costs as much
// as a tenth of the handler. Everything after only reads it (the HMAC, the form parser,
// the envelope decoder), and the bytes are the immutable string's, which no one may write.
func requestBody(req *events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if req.IsBase64Encoded || req.Body == "" {
		return httpapi.Body(req)
	}
	return unsafe.Slice(unsafe.StringData(req.Body), len(req.Body)), nil
}

func (h *Handler) signatureRefusal(req *events.APIGatewayV2HTTPRequest, err error) error {
	switch {
	case errors.Is(err, webhook.ErrNoSecret):
		// The caller is not told the function is misconfigured.
		return refuse(http.StatusUnauthorized, "invalid signature", ReasonNoSecret, err)
	case errors.Is(err, webhook.ErrMissingSignature):
		if httpapi.Header(req, hdrSignature1) != "" {
			err = fmt.Errorf("%w (only the SHA-1 %s was sent)", err, webhook.HeaderSignatureSHA1)
		}
		return refuse(http.StatusUnauthorized, "missing X-Hub-Signature-256 header", ReasonMissingSignature, err)
	case errors.Is(err, webhook.ErrMalformedSignature):
		return refuse(http.StatusUnauthorized, "invalid signature", ReasonMalformedSignature, err)
	default:
		return refuse(http.StatusUnauthorized, "invalid signature", ReasonBadSignature, err)
	}
}

func (h *Handler) send(ctx context.Context, d *delivery, msg []byte) error {
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-sendMargin))
		defer cancel()
	}
	_, err := h.queueClient().SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(h.queueURL),
		MessageBody: aws.String(string(msg)),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			envelope.AttrDeliveryID: {DataType: aws.String("String"), StringValue: aws.String(d.id)},
			envelope.AttrEventType:  {DataType: aws.String("String"), StringValue: aws.String(d.event)},
		},
	})
	if err != nil {
		return fmt.Errorf("send %s delivery %s to the queue: %w", d.event, d.id, err)
	}
	return nil
}

// record writes the delivery's one log line and one EMF line. Neither holds the body,
// the signature or the secret.
func (h *Handler) record(ctx context.Context, d *delivery, status int, err error, took time.Duration) {
	outcome, reason := OutcomeQueued, ""
	switch {
	case err != nil && status >= 500:
		outcome, reason = OutcomeFailed, reasonOf(err)
	case err != nil:
		outcome, reason = OutcomeRejected, reasonOf(err)
	case status == http.StatusOK:
		outcome = OutcomePong
	}

	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("github_delivery_id", d.id),
		slog.String("github_event_type", d.event),
	)
	if e := d.env; e != nil {
		if e.Action != "" {
			attrs = append(attrs, slog.String("action", e.Action))
		}
		if e.InstallationID != 0 {
			attrs = append(attrs, slog.Int64("github_installation_id", e.InstallationID))
		}
		if e.Repository != nil {
			attrs = append(attrs, slog.String("repo", e.Repository.FullName))
		}
		if e.Push != nil && e.Push.PathsIncomplete {
			attrs = append(attrs, slog.Bool("paths_incomplete", true))
		}
	}
	attrs = append(attrs,
		slog.String("outcome", outcome),
		slog.Int("status", status),
		slog.Int("body_bytes", d.bodyBytes),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000),
	)
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.String("reason", reason), slog.String("error", err.Error()))
		level = slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
	}
	h.log.LogAttrs(ctx, level, "webhook delivery", attrs...)

	props := map[string]any{"github_delivery_id": d.id}
	latency := metrics.Milliseconds(metrics.IngestLatency, took)
	received := metrics.Count(metrics.DeliveriesReceived, 1)
	switch outcome {
	case OutcomeQueued:
		h.metrics.Emit(metrics.DimEventType, d.event, props, received, metrics.Count(metrics.DeliveriesQueued, 1), latency)
	case OutcomePong:
		h.metrics.Emit(metrics.DimEventType, d.event, props, received, latency)
	default:
		// Rejected deliveries are counted by reason, never by their unverified event type.
		h.metrics.Emit(metrics.DimReason, reason, props, received, metrics.Count(metrics.DeliveriesRejected, 1), latency)
	}
}
