package devstack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/cwlocal"
)

// startCloudWatch serves the CloudWatch stand-in, which the functions reach through
// AWS_ENDPOINT_URL_CLOUDWATCH. It learns the functions' metrics from their EMF lines (as
// CloudWatch Logs does) and the queues' AWS/SQS metrics from fauxqs, sampled every
// minute as SQS reports them.
func (s *Stack) startCloudWatch(addr string) error {
	cw := cwlocal.New()
	cw.WatchFauxqs(s.Info.SQSURL)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: cw.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cw.Run(ctx, time.Minute)
	}()
	s.onClose("cloudwatch", func() error {
		cancel()
		<-done
		return srv.Close()
	})
	s.cw = cw
	s.Info.CloudWatchURL = "http://" + ln.Addr().String()
	s.con.progress("cloudwatch: %s (metrics from the functions' EMF lines and from fauxqs)", s.Info.CloudWatchURL)
	return nil
}

// metricLine hands one function output line to the CloudWatch stand-in, which keeps the
// EMF ones.
func (s *Stack) metricLine(line []byte) {
	if s.cw != nil {
		s.cw.Ingest(line)
	}
}
