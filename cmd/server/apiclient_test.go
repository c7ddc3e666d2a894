package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// testPassword is a strong password every test account shares.
const testPassword = "correct horse battery staple 42"

// apiClient is the HTTP client the API helpers use: no cookie jar, so every
// call is authenticated by its bearer token alone.
var apiClient = &http.Client{Timeout: 30 * time.Second}

// signupNode signs up handle@example.test through the API (the instance must run
// with REGISTRATION=open) and returns a fresh access token for it. The first
// signup of an organisation becomes steward.
func signupNode(t *testing.T, baseURL, handle string) (token string) {
	t.Helper()
	status, body := apiDo(t, http.MethodPost, baseURL+"/api/v1/signup", "", map[string]string{
		"email":        handle + "@example.test",
		"password":     testPassword,
		"handle":       handle,
		"display_name": strings.ToUpper(handle[:1]) + handle[1:],
	})
	if status != http.StatusCreated {
		t.Fatalf("signup %s: status %d, want 201: %s", handle, status, body)
	}
	var resp struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Token == "" {
		t.Fatalf("signup %s: no token in %s (%v)", handle, body, err)
	}
	return resp.Token
}

// apiDo sends one JSON request (body may be nil; a []byte or string body is sent
// as is) with an optional bearer token and returns the status and response body.
// A transport error fails the test.
func apiDo(t *testing.T, method, url, token string, body any) (status int, respBody []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("%s %s: encode body: %v", method, url, err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, respBody
}
