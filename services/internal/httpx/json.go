// Package httpx has the small HTTP helpers every service shares: JSON
// responses, JSON errors and strict request-body decoding.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxBody bounds request bodies; our APIs take small JSON objects.
const MaxBody = 64 << 10

// JSON writes v as a JSON response with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

// Error writes {"error": msg} with the given status.
func Error(w http.ResponseWriter, status int, msg string) {
	JSON(w, status, map[string]string{"error": msg})
}

// Decode reads one JSON value from the request body into v. Unknown fields,
// trailing data, an empty or oversized body are errors with a message fit
// for the client.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	var mbe *http.MaxBytesError
	if err := dec.Decode(v); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("request body is empty, want a JSON object")
		case errors.As(err, &mbe):
			return fmt.Errorf("request body larger than %d bytes", MaxBody)
		}
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	// Only EOF ends a body of one value: dec.More would let a stray '}' or
	// ']' through ("{}}").
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &mbe):
		return fmt.Errorf("request body larger than %d bytes", MaxBody)
	}
	return errors.New("invalid JSON body: trailing data after the object")
}
