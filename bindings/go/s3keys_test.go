package realsig

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// s3KeyCase is one of ../../tests/data/s3-keys.json: a key as typed in a URL path, and the
// key S3 stores.
type s3KeyCase struct{ Typed, Key string }

func s3KeyCases(t *testing.T) []s3KeyCase {
	text, err := os.ReadFile("../../tests/data/s3-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Cases []s3KeyCase }
	if err := json.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("no key cases")
	}
	return doc.Cases
}

// Every shared key case is uploaded with SignRequest and the URL it returns, read back
// through a presigned URL made with nothing but Service "s3", and listed under its exact
// key, on both verifying servers.
func TestS3KeysOnBothServers(t *testing.T) {
	for _, server := range []struct {
		name  string
		start func(testing.TB) string
	}{{"s3s-fs", startS3sFs}, {"versitygw", startVersitygw}} {
		t.Run(server.name, func(t *testing.T) {
			endpoint := server.start(t)
			s := testSigner(t, WithRealNow(RawClock()))
			ctx := context.Background()
			send := func(method, url, body string, expires time.Duration) (int, []byte) {
				t.Helper()
				signed, err := s.SignRequest(ctx, &Request{Method: method, URL: url, Body: []byte(body),
					Region: "us-east-1", Service: "s3", Expires: expires}, s3sFsCreds)
				if err != nil {
					t.Fatalf("%s %s: %v", method, url, err)
				}
				r, err := http.NewRequest(method, signed.URL, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				setSigned(r, signed.Headers)
				return do(t, r)
			}
			if code, msg := send("PUT", endpoint+"/bucket", "", 0); code != 200 {
				t.Fatalf("creating the bucket: %d %s", code, msg)
			}
			var want []string
			for i, c := range s3KeyCases(t) {
				url := fmt.Sprintf("%s/bucket/k%02d/%s", endpoint, i, c.Typed)
				body := "body of " + c.Key
				if code, msg := send("PUT", url, body, 0); code != 200 {
					t.Fatalf("PUT %q (key %q): %d %s", c.Typed, c.Key, code, msg)
				}
				if code, got := send("GET", url, "", time.Minute); code != 200 || string(got) != body {
					t.Fatalf("presigned GET %q: %d %q", c.Typed, code, got)
				}
				want = append(want, fmt.Sprintf("k%02d/%s", i, c.Key))
			}
			code, listing := send("GET", endpoint+"/bucket?list-type=2", "", 0)
			if code != 200 {
				t.Fatalf("list: %d %s", code, listing)
			}
			var result struct {
				Contents []struct{ Key string }
			}
			if err := xml.Unmarshal(listing, &result); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range result.Contents {
				got = append(got, c.Key)
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("listed keys:\n%q\nwant:\n%q", got, want)
			}
		})
	}
}
