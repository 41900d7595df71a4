package health

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sluicelb/sluice/internal/target"
)

// grpcServer answers every gRPC request with status code, in the trailers
// or, if trailersOnly, in the headers.
func grpcServer(t *testing.T, code string, trailersOnly, tls bool) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.ProtoMajor != 2 || r.Method != http.MethodPost || r.URL.Path != "/grpc.health.v1.Health/Check" ||
			r.Header.Get("Content-Type") != "application/grpc" || string(body) != "\x00\x00\x00\x00\x00" {
			t.Errorf("bad gRPC request: %s %s %s %q %q", r.Proto, r.Method, r.URL.Path,
				r.Header.Get("Content-Type"), body)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/grpc")
		if trailersOnly {
			w.Header().Set("Grpc-Status", code)
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Trailer", "Grpc-Status")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		w.Header().Set("Grpc-Status", code)
	}))
	if tls {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetHTTP1(true)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func TestGRPC(t *testing.T) {
	tests := []struct {
		name         string
		matcher      string
		trailersOnly bool
		tls          bool
		want         target.State
	}{
		{name: "h2c 12 matches 12", matcher: "12", want: target.StateHealthy},
		{name: "h2c 12 against 0", matcher: "0", want: target.StateUnhealthy},
		{name: "h2c default matcher", want: target.StateHealthy},
		{name: "trailers-only 12", matcher: "12", trailersOnly: true, want: target.StateHealthy},
		{name: "trailers-only against 0", matcher: "0", trailersOnly: true, want: target.StateUnhealthy},
		{name: "h2 12 matches 12", matcher: "12", tls: true, want: target.StateHealthy},
		{name: "h2 12 against 0-11", matcher: "0-11", tls: true, want: target.StateUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := grpcServer(t, "12", tt.trailersOnly, tt.tls)
			f := newFixture(t)
			tg := newTarget(t, f.clk, srv.Listener.Addr().String())
			s := settings(func(s *Settings) {
				s.GRPC = true
				s.Path = "/grpc.health.v1.Health/Check"
				if tt.tls {
					s.Protocol = "HTTPS"
				}
			})
			if tt.matcher != "" {
				m, err := ParseMatcher(tt.matcher)
				if err != nil {
					t.Fatal(err)
				}
				s.Matcher = m
			}
			f.sync1(s, tg)
			f.tick(0)
			f.tick()
			h := tg.Health()
			if h.State != tt.want {
				t.Fatalf("state = %s (%s %q), want %s", h.State, h.Reason, h.Description, tt.want)
			}
			if h.State == target.StateUnhealthy &&
				(h.Reason != target.ReasonResponseCodeMismatch || h.Description != "Health checks failed with these codes: [12]") {
				t.Errorf("unhealthy with %s %q", h.Reason, h.Description)
			}
		})
	}
}

func TestGRPCStatusFromHTTP(t *testing.T) {
	tests := []struct{ http, grpc int }{
		{400, 13}, {401, 16}, {403, 7}, {404, 12}, {429, 14}, {502, 14}, {503, 14}, {504, 14}, {500, 2},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.http, Header: http.Header{}}
		if got, err := grpcStatus(resp, true); err != nil || got != tt.grpc {
			t.Errorf("HTTP %d: grpcStatus = %d, %v; want %d", tt.http, got, err, tt.grpc)
		}
	}
	if _, err := grpcStatus(&http.Response{StatusCode: 200, Header: http.Header{}}, true); err == nil {
		t.Error("200 without grpc-status: no error")
	}
	bad := &http.Response{StatusCode: 200, Header: http.Header{"Grpc-Status": {"x"}}}
	if _, err := grpcStatus(bad, true); err == nil {
		t.Error("grpc-status x: no error")
	}
}
