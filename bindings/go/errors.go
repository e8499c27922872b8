package realsig

import "fmt"

// ErrorCode names a case of the WIT `sign-error` variant.
type ErrorCode string

// The cases of `sign-error`, spelled as in wit/realsig.wit.
const (
	CodeInvalidURL         ErrorCode = "invalid-url"
	CodeInvalidMethod      ErrorCode = "invalid-method"
	CodeInvalidHeaderName  ErrorCode = "invalid-header-name"
	CodeInvalidHeaderValue ErrorCode = "invalid-header-value"
	CodeInvalidPayloadHash ErrorCode = "invalid-payload-hash"
	CodeInvalidOption      ErrorCode = "invalid-option"
	CodeInvalidCredentials ErrorCode = "invalid-credentials"
	// CodeClockUnavailable: the RealNow source failed, so nothing was signed.
	CodeClockUnavailable ErrorCode = "clock-unavailable"
)

// SignError is why a request could not be signed: a case of the WIT `sign-error` and its
// message. Messages never contain a secret.
type SignError struct {
	Code    ErrorCode
	Message string
}

func (e *SignError) Error() string { return fmt.Sprintf("realsig: %s: %s", e.Code, e.Message) }

// Is matches any *SignError with the same Code, so errors.Is(err, ErrClockUnavailable) works.
func (e *SignError) Is(target error) bool {
	t, ok := target.(*SignError)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Sentinels for errors.Is, one per code.
var (
	ErrInvalidURL         = &SignError{Code: CodeInvalidURL}
	ErrInvalidMethod      = &SignError{Code: CodeInvalidMethod}
	ErrInvalidHeaderName  = &SignError{Code: CodeInvalidHeaderName}
	ErrInvalidHeaderValue = &SignError{Code: CodeInvalidHeaderValue}
	ErrInvalidPayloadHash = &SignError{Code: CodeInvalidPayloadHash}
	ErrInvalidOption      = &SignError{Code: CodeInvalidOption}
	ErrInvalidCredentials = &SignError{Code: CodeInvalidCredentials}
	ErrClockUnavailable   = &SignError{Code: CodeClockUnavailable}
)
