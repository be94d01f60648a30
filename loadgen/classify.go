package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// Classify maps one attempt's transport error and HTTP status code to an
// error class (ClassNone for a 2xx without error). A transport error wins
// over the status code because no trustworthy status exists then.
func Classify(err error, code int) string {
	if err != nil {
		return classifyErr(err)
	}
	switch {
	case code >= 200 && code < 300:
		return ClassNone
	case code >= 500 && code < 600:
		return ClassHTTP5xx
	case code >= 400 && code < 500:
		return ClassHTTP4xx
	}
	return ClassOther
}

func classifyErr(err error) string {
	// Cancel is checked first: a canceled run must not look like a server fault.
	switch {
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ClassReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassEOF
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ClassTimeout
	}
	return ClassOther
}
