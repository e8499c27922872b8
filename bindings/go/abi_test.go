package realsig

// The hand-maintained glue (abi.go) against what it describes: the WIT file it was written
// for, and the embedded module's imports and exports. That realsig_core.wasm is what the guest
// builds today is checked by the repository's tests/all/derived.rs (regenerate: go generate).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// repoRoot is the realsig checkout this module sits in, or "" when it was fetched alone.
func repoRoot() string {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "wit", "realsig.wit")); err != nil {
		return ""
	}
	return root
}

func TestGlueWasWrittenForThisWIT(t *testing.T) {
	root := repoRoot()
	if root == "" {
		t.Skip("SKIPPED: not inside the realsig repository, so there is no wit/realsig.wit to compare with")
	}
	b, err := os.ReadFile(filepath.Join(root, "wit", "realsig.wit"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != witSHA256 {
		t.Fatalf("wit/realsig.wit changed (sha256 %s, abi.go was checked against %s): review every layout in abi.go "+
			"against the new WIT, regenerate the module (go generate), then set witSHA256", got, witSHA256)
	}
}

// The module internal/core was translated from, inspected by wazero (a test-only dependency).
func TestEmbeddedModuleHasTheGluesSignatures(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasm, err := os.ReadFile("realsig_core.wasm")
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	i32 := api.ValueTypeI32
	type sig struct{ params, results []api.ValueType }
	var imports []string
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		imports = append(imports, mod+"#"+name)
		if mod+"#"+name == importModule+"#"+importRealNow {
			if !slices.Equal(f.ParamTypes(), []api.ValueType{i32}) || len(f.ResultTypes()) != 0 {
				t.Errorf("real-now has type %v -> %v, the glue expects (i32 retptr) -> ()", f.ParamTypes(), f.ResultTypes())
			}
		}
	}
	supplied := []string{importModule + "#" + importRealNow}
	for _, r := range resourceImports {
		supplied = append(supplied, r.module+"#[resource-new]"+r.name, r.module+"#[resource-drop]"+r.name)
	}
	slices.Sort(imports)
	slices.Sort(supplied)
	if !slices.Equal(imports, supplied) {
		t.Errorf("the module imports %v; the glue supplies %v", imports, supplied)
	}
	flat := func(n int) []api.ValueType { return slices.Repeat([]api.ValueType{i32}, n) }
	want := map[string]sig{
		exportSign:        {flat(1), flat(1)},
		exportPostSign:    {flat(1), nil},
		exportSignV4a:     {flat(1), flat(1)},
		exportPostSignV4a: {flat(1), nil},
		exportRealloc:     {flat(4), flat(1)},
		exportStart:       {flat(1), flat(1)}, // (request, credentials, upload) in memory
		exportSignChunk:   {flat(3), flat(1)}, // rep, string
		exportSignTrailer: {flat(3), flat(1)}, // rep, list<header>
		exportDtorChunk:   {flat(1), nil},
		exportPolicy:      {flat(14), flat(1)}, // expires, list, 2 strings, 7 for credentials
		exportOpen:        {flat(6), flat(1)},  // 3 strings
		exportSignMessage: {flat(10), flat(1)}, // rep, string, credentials
		exportDtorMessage: {flat(1), nil},
	}
	for _, post := range []string{exportPostStart, exportPostSignChunk, exportPostSignTrailer, exportPostPolicy, exportPostOpen, exportPostSignMessage} {
		want[post] = sig{flat(1), nil}
	}
	exports := m.ExportedFunctions()
	for name, w := range want {
		f, ok := exports[name]
		if !ok {
			t.Errorf("the module does not export %s", name)
			continue
		}
		if !slices.Equal(f.ParamTypes(), w.params) || !slices.Equal(f.ResultTypes(), w.results) {
			t.Errorf("%s has type %v -> %v, the glue expects %v -> %v", name, f.ParamTypes(), f.ResultTypes(), w.params, w.results)
		}
	}
	if _, ok := m.ExportedMemories()[exportMemory]; !ok {
		t.Errorf("the module does not export %q", exportMemory)
	}
}

// Every allocation the glue makes is freed by the guest: 10,000 signatures (with headers, a
// session token, debug strings) leave the instance's memory the size it was after the first.
func TestNoGuestMemoryGrowth(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))), WithPoolSize(1))
	req := &Request{
		Method: "POST", URL: "https://example.amazonaws.com/a/b?x=1&y=2", Region: "us-east-1", Service: "service",
		Headers: []Header{{"X-Amz-Meta-One", "1"}, {"Content-Type", "text/plain"}},
		Body:    []byte("hello"), Options: Options{Debug: true},
	}
	creds := Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}
	ctx := context.Background()
	sign := func() {
		if _, err := s.SignRequest(ctx, req, creds); err != nil {
			t.Fatal(err)
		}
	}
	sign()
	in := <-s.pool
	before := in.mem.Size()
	s.pool <- in
	for range 10_000 {
		sign()
	}
	in = <-s.pool
	defer func() { s.pool <- in }()
	if after := in.mem.Size(); after != before {
		t.Fatalf("guest memory grew from %d to %d bytes over 10,000 signatures", before, after)
	}
}
