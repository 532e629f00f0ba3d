package loopback

import (
	"io"
	"net/http"
	"testing"
)

func TestServeAnswersUntilClosed(t *testing.T) {
	var s *Server
	t.Run("served", func(t *testing.T) {
		s = ForTest(t, func() (*Server, error) {
			return Serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "fake") }))
		})
		resp, err := http.Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "fake" {
			t.Errorf("body = %q, want the handler's", body)
		}
	})
	// The subtest's end stopped it.
	if resp, err := http.Get(s.URL); err == nil {
		resp.Body.Close()
		t.Errorf("GET after the test ended = %s, want no server", resp.Status)
	}
}
