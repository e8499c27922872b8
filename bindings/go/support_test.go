package realsig

// Shared by the tests: where the team's vectors are and the suites' request.txt format
// (parsed as cli/src/http_text.rs does: the target may contain spaces; folded header lines
// are unfolded with one space; the body is everything after the first blank line).

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func vectorsDir(t testing.TB) string {
	dir := os.Getenv("REALSIG_VECTORS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "vectors")
	}
	if _, err := os.Stat(filepath.Join(dir, "aws-signing-test-suite")); err != nil {
		t.Fatalf("the shared vectors are missing at %s (set REALSIG_VECTORS): %v", dir, err)
	}
	return dir
}

type rawRequest struct {
	method, target string
	headers        []Header
	body           []byte
}

func parseRequestFile(t testing.TB, path string) rawRequest {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, body := b, []byte(nil)
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := bytes.Index(b, []byte(sep)); i >= 0 && (body == nil || i < len(head)) {
			head, body = b[:i], b[i+len(sep):]
		}
	}
	lines := strings.Split(strings.TrimRight(string(head), "\r\n"), "\n")
	first := strings.TrimRight(lines[0], "\r")
	sp, last := strings.Index(first, " "), strings.LastIndex(first, " ")
	r := rawRequest{method: first[:sp], target: first[sp+1 : last], body: body}
	for _, line := range lines[1:] {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			r.headers[len(r.headers)-1].Value += " " + strings.Trim(line, " \t")
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		r.headers = append(r.headers, Header{name, strings.Trim(value, " \t")})
	}
	return r
}

func readTrimmed(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(b), " \t\r\n")
}

// testSigner is a Signer closed when the test ends.
func testSigner(t testing.TB, opts ...Option) *Signer {
	t.Helper()
	s, err := NewSigner(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
