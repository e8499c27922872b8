package realsig

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// wasm2goVersion is the translator scripts/derive.sh runs (pinned in both places).
const wasm2goVersion = "v0.4.22"

// internal/core/core.go is wasm2go's translation of realsig_core.wasm, which the repository's
// tests/all/derived.rs checks against the guest's build.
func TestCoreIsTheTranslationOfTheModule(t *testing.T) {
	if repoRoot() == "" {
		t.Skip("SKIPPED: not inside the realsig repository (the module as fetched is what was checked there)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	cmd := exec.Command("go", "run", "github.com/ncruces/wasm2go@"+wasm2goVersion, "-unsafe", "-pkg", "core", "realsig_core.wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	fresh, err := cmd.Output()
	if err != nil {
		t.Fatalf("wasm2go: %v\n%s", err, stderr.String())
	}
	committed, err := os.ReadFile("internal/core/core.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatalf("internal/core/core.go (%d bytes) is not wasm2go %s's translation of realsig_core.wasm (%d bytes): run scripts/derive.sh",
			len(committed), wasm2goVersion, len(fresh))
	}
}
