package realsig

// Every case of the official v4 suite, header and query form, through the module: canonical
// request, string to sign and signature equal the suite's files.

import (
	"context"
	"encoding/json"
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

func TestV4Vectors(t *testing.T) {
	suite := filepath.Join(vectorsDir(t), "aws-signing-test-suite", "v4")
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
		t.Fatalf("only %d v4 cases in %s", len(cases), suite)
	}
	for _, name := range cases {
		for _, form := range []string{"header", "query"} {
			t.Run(name+"/"+form, func(t *testing.T) {
				dir := filepath.Join(suite, name)
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
				want := readTrimmed(t, filepath.Join(dir, form+"-signature.txt"))
				if form == "header" && out.Signature != want {
					t.Errorf("signature %s, want %s", out.Signature, want)
				}
				if form == "query" && !strings.HasSuffix(out.URL, "X-Amz-Signature="+want) {
					t.Errorf("presigned URL %s does not end with X-Amz-Signature=%s", out.URL, want)
				}
				if !out.SigningTime.Equal(vc.Timestamp) {
					t.Errorf("signing time %s, want %s", out.SigningTime, vc.Timestamp)
				}
			})
		}
	}
}
