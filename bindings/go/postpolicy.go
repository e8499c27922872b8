package realsig

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Condition is a condition of a POST policy (the WIT variant `condition`): build it with
// Equals, StartsWith or ContentLengthRange.
type Condition struct {
	c abiCondition
}

// Equals requires form field (with or without its `$`) to be value: ["eq", "$field", value].
func Equals(field, value string) Condition {
	return Condition{abiCondition{tag: conditionEquals, field: field, value: value}}
}

// StartsWith requires form field to start with prefix: ["starts-with", "$field", prefix].
func StartsWith(field, prefix string) Condition {
	return Condition{abiCondition{tag: conditionStartsWith, field: field, value: prefix}}
}

// ContentLengthRange bounds the uploaded file's size: ["content-length-range", min, max].
func ContentLengthRange(min, max uint64) Condition {
	return Condition{abiCondition{tag: conditionLength, min: min, max: max}}
}

// PostPolicy is a browser-based upload's policy to sign.
type PostPolicy struct {
	Conditions []Condition
	// Expires is how long the form stays valid: whole seconds up to 7 days (default 1 h).
	Expires time.Duration
	Region  string
	Service string // default "s3"
}

// FormField is a field to put in the upload form.
type FormField struct {
	Name, Value string
	Sensitive   bool // the session token: do not log it
}

// SignedForm is a signed POST policy.
type SignedForm struct {
	// Fields go in the form in this order, before the file: policy, x-amz-algorithm,
	// x-amz-credential, x-amz-date, (x-amz-security-token,) x-amz-signature.
	Fields []FormField
	// PolicyDocument is the JSON document that the policy field carries in base64. It names a
	// session token in clear.
	PolicyDocument string
	Signature      string    // lowercase hex
	SigningTime    time.Time // the RealNow reading the document is dated by
}

// SignPostPolicy signs p at the real time, adding the conditions the signature needs
// (x-amz-algorithm, x-amz-credential, x-amz-date, and the session token).
func (s *Signer) SignPostPolicy(ctx context.Context, p *PostPolicy, creds Credentials) (*SignedForm, error) {
	expires := p.Expires
	if expires == 0 {
		expires = time.Hour
	}
	if expires%time.Second != 0 || expires < 0 || expires/time.Second > math.MaxUint32 {
		return nil, &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf("expires must be whole seconds from 1s to 168h (7 days), not %s", expires)}
	}
	service := p.Service
	if service == "" {
		service = "s3"
	}
	conds := make([]abiCondition, len(p.Conditions))
	size := len(p.Region) + len(service) + len(creds.AccessKeyID) + len(creds.SecretAccessKey) + len(creds.SessionToken)
	for i, c := range p.Conditions {
		conds[i] = c.c
		size += len(c.c.field) + len(c.c.value) + conditionSize
	}
	if size > maxRequestBytes {
		return nil, &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf(
			"the policy is too large to sign: %d bytes of conditions and credentials (the limit is %d)", size, maxRequestBytes)}
	}
	var out *abiForm
	err := s.with(ctx, func(in *instance) (err error) {
		out, err = in.callSignPostPolicy(ctx, uint32(expires/time.Second), conds, p.Region, service, &creds)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &SignedForm{Fields: out.fields, PolicyDocument: out.document, Signature: out.signature, SigningTime: out.signingTime}, nil
}
