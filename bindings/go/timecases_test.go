package realsig

// The shared time cases (../../tests/data/time-cases): Go re-implements the host's
// realtime-file rules (it reads the file itself), so it must give the host's verdict on every
// case. Every file there needs a runner here, and a case with a field this runner does not
// know fails.

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const timeCasesDir = "../../tests/data/time-cases"

func TestEveryTimeCaseFileHasARunner(t *testing.T) {
	entries, err := os.ReadDir(timeCasesDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"realtime-file.json"}; !slices.Equal(names, want) {
		t.Fatalf("time-case files %v, runners for %v", names, want)
	}
}

// realtimeVerdict is our verdict in the cases' form; the kind of a refusal is read from its
// message.
func realtimeVerdict(t *testing.T, text string) map[string]any {
	nanos, fraction, err := ParseRealtime(text)
	if err == nil {
		return map[string]any{"text": text, "nanos": strconv.FormatInt(nanos, 10), "fraction": fraction}
	}
	for prefix, kind := range map[string]string{
		"the file is empty":        "empty",
		"expected Unix seconds":    "malformed",
		"the time is out of range": "out-of-range",
	} {
		if strings.HasPrefix(err.Error(), prefix) {
			return map[string]any{"text": text, "rejected": kind}
		}
	}
	t.Fatalf("no case kind for the error %q", err)
	return nil
}

func TestRealtimeFileCasesGetTheHostsVerdict(t *testing.T) {
	raw, err := os.ReadFile(timeCasesDir + "/realtime-file.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Cases []map[string]any }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 30 {
		t.Fatal("the realtime-file cases went missing")
	}
	for _, c := range doc.Cases {
		for key := range c {
			if !slices.Contains([]string{"text", "nanos", "fraction", "rejected"}, key) {
				t.Fatalf("unknown field %q in %v", key, c)
			}
		}
		if k, ok := c["rejected"]; ok {
			if !slices.Contains([]any{"empty", "malformed", "out-of-range"}, k) {
				t.Fatalf("unknown verdict %v", k)
			}
		} else if _, ok := c["fraction"].(bool); !ok {
			t.Fatalf("a case needs nanos and fraction, or rejected: %v", c)
		}
		text, _ := c["text"].(string)
		if got := realtimeVerdict(t, text); !reflect.DeepEqual(got, c) {
			t.Errorf("realtime file text %q: got %v, want %v", text, got, c)
		}
	}
}
