package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDoSendsJSONAndToken(t *testing.T) {
	var gotMethod, gotPath, gotAuth, gotType, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotPath = r.Method, r.URL.RequestURI()
		gotAuth, gotType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("ETag", `"abc"`)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"name":"web","idle_timeout":"1m0s"}`)
	}))
	defer srv.Close()

	c := New(srv.URL+"/", "s3cret")
	var out map[string]any
	if err := c.Do(context.Background(), "POST", "/api/v1/load_balancers", map[string]any{"name": "web"}, &out); err != nil {
		t.Fatal(err)
	}
	if gotMethod != "POST" || gotPath != "/api/v1/load_balancers" {
		t.Errorf("sent %s %s", gotMethod, gotPath)
	}
	if gotAuth != "Bearer s3cret" {
		t.Errorf("Authorization = %q", gotAuth)
	}
	if gotType != "application/json" || gotBody != `{"name":"web"}` {
		t.Errorf("body %q of type %q", gotBody, gotType)
	}
	if out["idle_timeout"] != "1m0s" {
		t.Errorf("decoded %v", out)
	}

	resp, err := c.Send(context.Background(), Request{Path: "/api/v1/load_balancers/web", IfMatch: `"abc"`})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ETag != `"abc"` || resp.Status != http.StatusCreated || gotMethod != "GET" {
		t.Errorf("Send: %+v after %s", resp, gotMethod)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   Error
		text   string
	}{
		{
			name:   "validation with fields",
			status: 400,
			body:   `{"error":{"code":"ValidationError","message":"the target group is not valid","fields":[{"field":"health_check.interval","value":"1s","message":"must be 5s–300s"},{"field":"port","message":"must be 1–65535"}]}}`,
			want:   Error{Status: 400, Code: "ValidationError", Message: "the target group is not valid"},
			text:   "the target group is not valid\n  health_check.interval: must be 5s–300s\n  port: must be 1–65535",
		},
		{
			name:   "message repeating its field",
			status: 400,
			body:   `{"error":{"code":"ValidationError","message":"a: too big (and 1 more problems)","fields":[{"field":"a","message":"too big"},{"field":"b","message":"too small"}]}}`,
			want:   Error{Status: 400, Code: "ValidationError", Message: "a: too big (and 1 more problems)"},
			text:   "a: too big (and 1 more problems)\n  b: too small",
		},
		{
			name:   "not found",
			status: 404,
			body:   `{"error":{"code":"NotFound","message":"no load balancer named \"web\""}}`,
			want:   Error{Status: 404, Code: "NotFound", Message: `no load balancer named "web"`},
			text:   `no load balancer named "web"`,
		},
		{
			name:   "not the API's JSON",
			status: 502,
			body:   "<html>\n<body>Bad   Gateway</body></html>",
			want:   Error{Status: 502, Message: "the admin API answered 502 Bad Gateway: <html> <body>Bad Gateway</body></html>"},
			text:   "the admin API answered 502 Bad Gateway: <html> <body>Bad Gateway</body></html>",
		},
		{
			name:   "code without message",
			status: 412,
			body:   `{"error":{"code":"PreconditionFailed"}}`,
			want:   Error{Status: 412, Code: "PreconditionFailed", Message: "the admin API answered 412 Precondition Failed"},
			text:   "the admin API answered 412 Precondition Failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			err := New(srv.URL, "t").Do(context.Background(), "GET", "/api/v1/x", nil, nil)
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			if ae.Status != tt.want.Status || ae.Code != tt.want.Code || ae.Message != tt.want.Message {
				t.Errorf("got %+v, want %+v", *ae, tt.want)
			}
			if err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.text)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	err = New(addr, "t").Do(context.Background(), "GET", "/api/v1/load_balancers", nil, nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("error %T %v, want *UnreachableError", err, err)
	}
	want := "cannot reach the sluice admin API at http://" + addr + ": is `sluice serve` running? ("
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", err, want)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := New(srv.URL, "t")
	c.HTTPClient.Timeout = 20 * time.Millisecond
	err := c.Do(context.Background(), "GET", "/api/v1/load_balancers", nil, nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Timeout != 20*time.Millisecond {
		t.Fatalf("error %T %v, want a timeout", err, err)
	}
	if !strings.Contains(err.Error(), "did not answer within 20ms") {
		t.Errorf("Error() = %q", err)
	}
}

func TestBadAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "not json")
	}))
	defer srv.Close()
	var raw json.RawMessage
	err := New(srv.URL, "t").Do(context.Background(), "GET", "/api/v1/load_balancers", nil, &raw)
	if err == nil || !strings.Contains(err.Error(), "not the JSON expected") {
		t.Fatalf("error %v", err)
	}
}
