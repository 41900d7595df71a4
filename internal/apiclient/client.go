// Package apiclient talks to a running sluice's admin API: JSON bodies in
// and out, a bearer token on every request, and the API's error bodies
// decoded into *Error. It knows the wire conventions (the README's API reference), not the
// resources: callers name paths and decode into what they like.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultTimeout bounds one request, connecting and reading the whole
// response included, of a Client made by New.
const DefaultTimeout = 30 * time.Second

// maxBody caps how much of a response is read; the API's largest answers
// (export, long lists) are far smaller.
const maxBody = 64 << 20

// Client sends requests to one admin API endpoint. Its zero value is not
// usable; call New.
type Client struct {
	// HTTPClient sends the requests. New sets one whose Timeout is
	// DefaultTimeout; replace it to change the timeout or the transport.
	HTTPClient *http.Client

	endpoint string
	token    string
}

// New returns a client for the admin API at endpoint ("http://host:port";
// a missing scheme means http) that authenticates with token. An empty
// token sends no Authorization header.
func New(endpoint, token string) *Client {
	endpoint = strings.TrimRight(strings.TrimSpace(endpoint), "/")
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	return &Client{
		HTTPClient: &http.Client{Timeout: DefaultTimeout},
		endpoint:   endpoint,
		token:      token,
	}
}

// Endpoint reports the base URL requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

// Request is one call of the API.
type Request struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// Path starts with "/" and may carry a query ("/api/v1/rules?listener=web%3A443").
	Path string
	// Body is encoded as JSON; nil sends no body. A json.RawMessage is sent
	// as it is.
	Body any
	// IfMatch, when set, is sent as the If-Match header so the API refuses
	// the write (412) if the resource changed since that ETag.
	IfMatch string
}

// Response is a successful (2xx) answer.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// ETag is the response's ETag header, quotes included; empty when the
	// API sent none (lists, deletes).
	ETag string
	// Body is the raw response body; empty for 204.
	Body []byte
}

// Send sends req and returns the response when its status is 2xx. Any
// other status is returned as *Error; a request that got no answer as
// *UnreachableError.
func (c *Client) Send(ctx context.Context, req Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if req.Body != nil {
		b, err := json.Marshal(req.Body)
		if err != nil {
			return nil, fmt.Errorf("encoding the %s %s request: %w", method, req.Path, err)
		}
		body = bytes.NewReader(b)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, c.endpoint+req.Path, body)
	if err != nil {
		return nil, fmt.Errorf("admin API request %s %s: %w", method, req.Path, err)
	}
	hreq.Header.Set("Accept", "application/json")
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	if req.IfMatch != "" {
		hreq.Header.Set("If-Match", req.IfMatch)
	}
	hresp, err := c.HTTPClient.Do(hreq)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody))
	if err != nil {
		return nil, c.unreachable(err)
	}
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		return nil, decodeError(hresp.StatusCode, data)
	}
	return &Response{Status: hresp.StatusCode, ETag: hresp.Header.Get("ETag"), Body: data}, nil
}

// Do sends body (nil for none) with method to path and decodes a JSON
// answer into out (nil to drop it; a *json.RawMessage keeps it as sent).
// Errors are as for Send.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.Send(ctx, Request{Method: method, Path: path, Body: body})
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("the admin API's answer to %s %s is not the JSON expected: %w", method, path, err)
	}
	return nil
}

func (c *Client) unreachable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	ue := &UnreachableError{Endpoint: c.endpoint, Err: err}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		ue.Timeout = c.HTTPClient.Timeout
		if ue.Timeout == 0 {
			ue.Timeout = -1
		}
	}
	return ue
}

// UnreachableError is a request that got no answer: nothing listens at the
// endpoint, the name does not resolve, the connection broke or the API did
// not answer in time.
type UnreachableError struct {
	// Endpoint is the base URL tried.
	Endpoint string
	// Timeout is the client's timeout when the request timed out (negative
	// when it timed out on the caller's deadline), else zero.
	Timeout time.Duration
	// Err is the transport's error.
	Err error
}

func (e *UnreachableError) Error() string {
	switch {
	case e.Timeout > 0:
		return fmt.Sprintf("the sluice admin API at %s did not answer within %s (%v)", e.Endpoint, e.Timeout, e.Err)
	case e.Timeout < 0:
		return fmt.Sprintf("the sluice admin API at %s did not answer in time (%v)", e.Endpoint, e.Err)
	}
	return fmt.Sprintf("cannot reach the sluice admin API at %s: is `sluice serve` running? (%v)", e.Endpoint, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }
