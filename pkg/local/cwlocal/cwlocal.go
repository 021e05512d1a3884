package cwlocal

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Service is the Smithy service name in the RPCv2-CBOR request path.
const Service = "GraniteServiceVersion20100801"

// maxBody bounds a request body (CloudWatch's own limit for PutMetricData is 1 MB).
const maxBody = 4 << 20

// Server is an in-memory CloudWatch. It is safe for concurrent use.
type Server struct {
	mu     sync.Mutex
	series map[string]*series
	now    func() time.Time

	fauxqsURL string
	client    *http.Client
}

// New returns an empty Server.
func New() *Server {
	return &Server{
		series: map[string]*series{},
		now:    time.Now,
		client: &http.Client{Timeout: 5 * time.Second},
	}
}

// SetClock replaces the Server's clock (time.Now), which stamps queue samples and EMF
// lines without a timestamp: for tests and replays of recorded output. Call it before
// serving.
func (s *Server) SetClock(now func() time.Time) { s.now = now }

// Put records one value of a metric at t (what PutMetricData and EMF lines do).
func (s *Server) Put(m Metric, t time.Time, v float64, unit string) {
	s.put(m, rawPoint(t.UTC(), unit, []float64{v}, nil))
}

func (s *Server) put(m Metric, p point) {
	m.Dimensions = sortDims(m.Dimensions)
	k := m.key()
	s.mu.Lock()
	defer s.mu.Unlock()
	ser, ok := s.series[k]
	if !ok {
		ser = &series{metric: m}
		s.series[k] = ser
	}
	ser.add(p, s.now())
}

// Metrics lists every metric the Server holds.
func (s *Server) Metrics() []Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Metric, 0, len(s.series))
	for _, ser := range s.series {
		out = append(out, ser.metric)
	}
	return out
}

// Handler returns the HTTP handler answering the SDK's CloudWatch requests.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /service/"+Service+"/operation/{op}", s.serveOperation)
	// A plain GET answers, so that a supervisor can wait for the server to be up.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "cwlocal: CloudWatch stand-in (Smithy RPCv2-CBOR)\n")
	})
	return mux
}

// apiError is an error answer in the protocol's shape.
type apiError struct {
	status    int
	shape     string // e.g. InvalidParameterValueException
	queryCode string // the awsQuery code CloudWatch also sends, e.g. InvalidParameterValue
	message   string
}

func (e *apiError) Error() string { return e.shape + ": " + e.message }

func invalid(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, shape: "InvalidParameterValueException", queryCode: "InvalidParameterValue",
		message: fmt.Sprintf(format, args...)}
}

func missing(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, shape: "MissingRequiredParameterException", queryCode: "MissingParameter",
		message: fmt.Sprintf(format, args...)}
}

func (s *Server) serveOperation(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor") {
		writeError(w, &apiError{status: http.StatusBadRequest, shape: "InvalidParameterValueException", queryCode: "InvalidParameterValue",
			message: "this endpoint speaks Smithy RPCv2-CBOR: the Smithy-Protocol header must be rpc-v2-cbor"})
		return
	}
	in, err := readInput(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	var out cbor.Map
	switch op := r.PathValue("op"); op {
	case "GetMetricData":
		out, err = s.getMetricData(r, in)
	case "PutMetricData":
		err = s.putMetricData(in)
		out = cbor.Map{}
	case "ListMetrics":
		out, err = s.listMetrics(in)
	default:
		err = &apiError{status: http.StatusBadRequest, shape: "UnknownOperationException", message: "operation " + op + " is not supported by the local CloudWatch stand-in"}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	_, _ = w.Write(cbor.Encode(out))
}

// readInput decodes the request's CBOR map (gunzipping it first: the SDK compresses
// large PutMetricData bodies). An empty body is an empty input.
func readInput(w http.ResponseWriter, r *http.Request) (object, error) {
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxBody)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return object{}, invalid("body is not gzip")
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return object{}, invalid("body could not be read")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return input(cbor.Map{})
	}
	v, err := cbor.Decode(raw)
	if err != nil {
		return object{}, invalid("body is not CBOR: %v", err)
	}
	return input(v)
}

func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = &apiError{status: http.StatusInternalServerError, shape: "InternalServiceFault", queryCode: "InternalServiceError", message: err.Error()}
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if e.queryCode != "" {
		fault := "Sender"
		if e.status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", e.queryCode+";"+fault)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(cbor.Encode(cbor.Map{
		"__type":  cbor.String("com.amazonaws.cloudwatch#" + e.shape),
		"message": cbor.String(e.message),
	}))
}
