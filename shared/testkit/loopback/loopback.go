// Package loopback serves a fake on a free loopback port: the one way the
// suite's loopback fakes (fakehealthgate, fakeimagebuilder) listen, stop,
// and stop with the test that started them.
package loopback

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// Server is h served on a free loopback port. A fake embeds it, so its
// URL and Close are the fake's.
type Server struct {
	URL string // http://127.0.0.1:PORT
	srv *http.Server
}

// Serve serves h until Close.
func Serve(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// ForTest starts a fake with start and stops it when the test ends.
func ForTest[T interface{ Close() }](tb testing.TB, start func() (T, error)) T {
	tb.Helper()
	fake, err := start()
	if err != nil {
		tb.Fatalf("start fake: %v", err)
	}
	tb.Cleanup(fake.Close)
	return fake
}
