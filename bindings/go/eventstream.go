package realsig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// MessageSigner signs the messages of one event stream (AWS4-HMAC-SHA256-PAYLOAD), in order,
// each at the real time it is signed and chained to the signature before. Close it when the
// stream ends.
type MessageSigner struct {
	h held
}

// EventStream starts the message chain of a stream whose opening request was signed with
// seedSignature (lowercase hex, Signed.Signature).
func (s *Signer) EventStream(ctx context.Context, seedSignature, region, service string) (*MessageSigner, error) {
	m := &MessageSigner{}
	err := s.hold(ctx, &m.h, exportDtorMessage, "MessageSigner", func(in *instance) (uint32, error) {
		return in.callOpen(ctx, seedSignature, region, service)
	})
	if err != nil {
		return nil, err
	}
	watch(m, &m.h)
	return m, nil
}

// SignMessage signs the next encoded message (an empty one for the closing frame). It returns
// the values of the envelope's `:date` (a timestamp header) and `:chunk-signature` (bytes)
// headers. The message is hashed here with crypto/sha256.
func (m *MessageSigner) SignMessage(ctx context.Context, message []byte, creds Credentials) (date time.Time, signature []byte, err error) {
	sum := sha256.Sum256(message)
	err = m.h.use(ctx, func(in *instance, rep uint32) (err error) {
		date, signature, err = in.callSignMessage(ctx, rep, hex.EncodeToString(sum[:]), &creds)
		return err
	})
	return date, signature, err
}

// Close ends the chain. Calls afterwards fail with CodeInvalidOption.
func (m *MessageSigner) Close() error { return m.h.close() }
