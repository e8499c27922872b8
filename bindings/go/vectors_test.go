package realsig

// Every case of the official v4 suite, header and query form, through the module: canonical
// request, string to sign and signature equal the suite's files. And the v4a suite.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type vectorContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	Expiration       int       `json:"expiration_in_seconds"`
	Normalize        *bool     `json:"normalize"`
	Region           string    `json:"region"`
	Service          string    `json:"service"`
	SignBody         bool      `json:"sign_body"`
	OmitSessionToken bool      `json:"omit_session_token"`
	Timestamp        time.Time `json:"timestamp"`
}

// suiteCases lists the case folders of the suite `name` (v4, v4a).
func suiteCases(t *testing.T, name string) (string, []string) {
	suite := filepath.Join(vectorsDir(t), "aws-signing-test-suite", name)
	entries, err := os.ReadDir(suite)
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, e.Name())
		}
	}
	if len(cases) < 30 {
		t.Fatalf("only %d %s cases in %s", len(cases), name, suite)
	}
	return suite, cases
}

// signCase signs the case in dir in `form` (header, query) and checks the canonical request,
// string to sign and signing time against the files.
func signCase(t *testing.T, dir, form string, sigv4a bool) *Signed {
	var vc vectorContext
	if err := json.Unmarshal([]byte(readTrimmed(t, filepath.Join(dir, "context.json"))), &vc); err != nil {
		t.Fatal(err)
	}
	raw := parseRequestFile(t, filepath.Join(dir, "request.txt"))
	var host string
	for _, h := range raw.headers {
		if strings.EqualFold(h.Name, "host") {
			host = h.Value
		}
	}
	req := &Request{
		Method:  raw.method,
		URL:     "https://" + host + raw.target,
		Headers: raw.headers,
		Body:    raw.body,
		Region:  vc.Region,
		Service: vc.Service,
		Options: Options{
			DisablePathNormalization: vc.Normalize != nil && !*vc.Normalize,
			ContentSHA256Header:      vc.SignBody,
			OmitSessionToken:         vc.OmitSessionToken,
			Debug:                    true,
			SigV4a:                   sigv4a,
		},
	}
	if form == "query" {
		req.Expires = time.Duration(vc.Expiration) * time.Second
	}
	s := testSigner(t, WithRealNow(FixedClock(vc.Timestamp)))
	out, err := s.SignRequest(context.Background(), req, Credentials{
		AccessKeyID: vc.Credentials.AccessKeyID, SecretAccessKey: vc.Credentials.SecretAccessKey, SessionToken: vc.Credentials.Token,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := readTrimmed(t, filepath.Join(dir, form+"-canonical-request.txt")); out.CanonicalRequest != want {
		t.Errorf("canonical request:\n%s\nwant:\n%s", out.CanonicalRequest, want)
	}
	if want := readTrimmed(t, filepath.Join(dir, form+"-string-to-sign.txt")); out.StringToSign != want {
		t.Errorf("string to sign:\n%s\nwant:\n%s", out.StringToSign, want)
	}
	if !out.SigningTime.Equal(vc.Timestamp) {
		t.Errorf("signing time %s, want %s", out.SigningTime, vc.Timestamp)
	}
	return out
}

func TestV4Vectors(t *testing.T) {
	suite, cases := suiteCases(t, "v4")
	for _, name := range cases {
		for _, form := range []string{"header", "query"} {
			t.Run(name+"/"+form, func(t *testing.T) {
				dir := filepath.Join(suite, name)
				out := signCase(t, dir, form, false)
				want := readTrimmed(t, filepath.Join(dir, form+"-signature.txt"))
				if form == "header" && out.Signature != want {
					t.Errorf("signature %s, want %s", out.Signature, want)
				}
				if form == "query" && !strings.HasSuffix(out.URL, "X-Amz-Signature="+want) {
					t.Errorf("presigned URL %s does not end with X-Amz-Signature=%s", out.URL, want)
				}
			})
		}
	}
}

// Every v4a case, header and (where upstream has it) query form: the canonical request and
// string to sign equal the files, and the ECDSA signature verifies with the case's public
// key (crypto/ecdsa); signatures are not compared as bytes.
func TestV4aVectors(t *testing.T) {
	suite, cases := suiteCases(t, "v4a")
	trials := 0
	for _, name := range cases {
		for _, form := range []string{"header", "query"} {
			dir := filepath.Join(suite, name)
			if _, err := os.Stat(filepath.Join(dir, form+"-canonical-request.txt")); err != nil {
				continue // upstream has no such form for this case: not a trial
			}
			trials++
			t.Run(name+"/"+form, func(t *testing.T) {
				out := signCase(t, dir, form, true)
				if form == "query" && !strings.Contains(out.URL, "X-Amz-Signature="+out.Signature) {
					t.Errorf("presigned URL %s lacks X-Amz-Signature=%s", out.URL, out.Signature)
				}
				var xy struct{ X, Y string }
				if err := json.Unmarshal([]byte(readTrimmed(t, filepath.Join(dir, "public-key.json"))), &xy); err != nil {
					t.Fatal(err)
				}
				x, _ := new(big.Int).SetString(xy.X, 16)
				y, _ := new(big.Int).SetString(xy.Y, 16)
				key := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
				sig, err := hex.DecodeString(out.Signature)
				if err != nil {
					t.Fatal(err)
				}
				digest := sha256.Sum256([]byte(out.StringToSign))
				if !ecdsa.VerifyASN1(key, digest[:], sig) {
					t.Errorf("the signature does not verify with the case's public key")
				}
				other := sha256.Sum256([]byte(out.StringToSign + "x"))
				if ecdsa.VerifyASN1(key, other[:], sig) {
					t.Errorf("control: the signature verifies another string too")
				}
			})
		}
	}
	if trials < 60 {
		t.Fatalf("only %d v4a trials", trials)
	}
}
