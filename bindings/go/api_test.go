package realsig

// Pins the exported API: a change to it must be deliberate (update this list and the README).

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

var exportedAPI = []string{
	"AllowStatic", "Chain", "CodeClockUnavailable", "CodeInvalidCredentials", "CodeInvalidHeaderName",
	"CodeInvalidHeaderValue", "CodeInvalidMethod", "CodeInvalidOption", "CodeInvalidPayloadHash", "CodeInvalidURL",
	"Credentials", "Credentials.GoString", "Credentials.String", "DefaultClock", "ErrClockUnavailable",
	"ErrInvalidCredentials", "ErrInvalidHeaderName", "ErrInvalidHeaderValue", "ErrInvalidMethod", "ErrInvalidOption",
	"ErrInvalidPayloadHash", "ErrInvalidURL", "ErrorCode", "FixedClock", "Header", "NTP", "NTPClock",
	"NTPClock.Now", "NTPClock.Uncertainty", "NTPMaxAge", "NTPMinPoll", "NTPOption", "NTPPollInterval", "NTPTimeout",
	"NewNTPClock", "NewSigner", "Option", "Options", "ParseRealtime", "RawClock", "RealNow", "RealtimeEnv",
	"RealtimeFile", "RealtimeOption", "RealtimeTimeout", "Request", "SignError", "SignError.Error", "SignError.Is", "SignedHeader",
	"Signed", "Signer", "Signer.Close", "Signer.Presign", "Signer.Sign", "Signer.SignRequest", "UnsignedPayload",
	"WithCompilationCacheDir", "WithPoolSize", "WithRealNow",
	// chunked uploads, POST policies, event streams
	"Chunked", "Chunked.FramedLength", "ChunkedMode", "ChunkedMode.String", "ChunkedSigned", "ChunkedSignedWithTrailer",
	"ChunkedUnsignedWithTrailer", "ChunkedUpload", "ChunkedUpload.Body", "ChunkedUpload.Close", "ChunkedUpload.SignChunk",
	"ChunkedUpload.SignTrailer", "DefaultChunkSize", "Signer.StartChunked", "Condition", "ContentLengthRange", "Equals",
	"StartsWith", "FormField", "PostPolicy", "SignedForm", "Signer.SignPostPolicy", "MessageSigner",
	"MessageSigner.Close", "MessageSigner.SignMessage", "Signer.EventStream",
	// credentials: the SDK's chain cached by the real time
	"CredentialsCache", "CredentialsCache.Credentials", "CredentialsCache.Fetches", "CredentialsCache.Retrieve",
	"DefaultCredentials", "ExpiredError", "ExpiredError.Error", "NewCredentialsCache",
	// the aws-sdk-go-v2 adapter and the net/http transport
	"AWSV4", "AWSV4.PresignHTTP", "AWSV4.SignHTTP", "Signer.AWSV4", "Transport", "Transport.RoundTrip", "NewTransport",
}

func TestExportedAPI(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range pkgs["realsig"].Files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				name := d.Name.Name
				if d.Recv != nil {
					typ := d.Recv.List[0].Type
					if star, ok := typ.(*ast.StarExpr); ok {
						typ = star.X
					}
					if !typ.(*ast.Ident).IsExported() {
						continue
					}
					name = typ.(*ast.Ident).Name + "." + name
				}
				got = append(got, name)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							got = append(got, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								got = append(got, n.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(got)
	want := slices.Clone(exportedAPI)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("the exported API changed:\n got %q\nwant %q", got, want)
	}
}
