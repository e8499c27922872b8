package realsig

// The shared time cases (../../tests/data/time-cases): Go re-implements the host's
// realtime-file and SNTP reply rules (it reads the file and checks replies itself), so it must
// give the host's verdict on every case. Every file there needs a runner here, and a case with a field this runner does not
// know fails.

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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
	if want := []string{"chain.json", "ntp-reply.json", "realtime-file.json"}; !slices.Equal(names, want) {
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

func TestNTPReplyCasesGetTheHostsVerdict(t *testing.T) {
	raw, err := os.ReadFile(timeCasesDir + "/ntp-reply.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Nonce string
		Cases []map[string]any
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	nonce, err := strconv.ParseUint(doc.Nonce, 16, 64)
	if err != nil || len(doc.Cases) < 30 {
		t.Fatalf("the NTP reply cases went missing (nonce %q: %v)", doc.Nonce, err)
	}
	verdicts := []any{"accepted", "truncated", "wrong-mode", "bad-version", "origin-mismatch", "kiss-of-death",
		"unsynchronised", "stratum", "zero-transmit", "root-distance"}
	for _, c := range doc.Cases {
		for key := range c {
			if !slices.Contains([]string{"name", "reply", "verdict", "stratum", "root_distance_ns", "kiss"}, key) {
				t.Fatalf("unknown field %q in %v", key, c)
			}
		}
		if !slices.Contains(verdicts, c["verdict"]) {
			t.Fatalf("unknown verdict in %v", c)
		}
		name, _ := c["name"].(string)
		text, _ := c["reply"].(string)
		b, err := hex.DecodeString(text)
		if err != nil {
			t.Fatalf("%s: the reply is not hex: %v", name, err)
		}
		got := map[string]any{"name": name, "reply": text}
		if r, err := parseReply(b, nonce); err == nil {
			got["verdict"], got["stratum"] = "accepted", float64(r.stratum) // JSON numbers decode as float64
			got["root_distance_ns"] = strconv.FormatInt(r.rootDistance.Nanoseconds(), 10)
		} else {
			var rej *ntpRejection
			if !errors.As(err, &rej) {
				t.Fatalf("%s: %v is not a rejection", name, err)
			}
			got["verdict"] = rej.code
			if rej.code == "kiss-of-death" {
				got["kiss"] = rej.kiss
			}
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("NTP reply case %q: got %v, want %v", name, got, c)
		}
	}
}

// Go's RealNow returns a time without a source name, so a case's `source` is not compared.
func TestChainCasesGetTheHostsVerdict(t *testing.T) {
	raw, err := os.ReadFile(timeCasesDir + "/chain.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Cases []map[string]any }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 8 {
		t.Fatal("the chain cases went missing")
	}
	for _, c := range doc.Cases {
		for key := range c {
			if !slices.Contains([]string{"name", "members", "time", "source", "error", "read"}, key) {
				t.Fatalf("unknown field %q in %v", key, c)
			}
		}
		name, _ := c["name"].(string)
		read := 0
		var members []RealNow
		for _, raw := range c["members"].([]any) {
			m := raw.(map[string]any)
			for key := range m {
				if !slices.Contains([]string{"source", "reads", "fails"}, key) {
					t.Fatalf("unknown member field %q in %v", key, m)
				}
			}
			reads, isRead := m["reads"].(string)
			fails, isFail := m["fails"].(string)
			if isRead == isFail {
				t.Fatalf("a member either reads or fails: %v", m)
			}
			source, _ := m["source"].(string)
			members = append(members, func() (time.Time, error) {
				read++
				if isFail {
					return time.Time{}, errors.New(source + ": " + fails)
				}
				ns, err := strconv.ParseInt(reads, 10, 64)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return time.Unix(0, ns), nil
			})
		}
		got := map[string]any{"name": name, "members": c["members"]}
		want := maps.Clone(c)
		delete(want, "source")
		if tm, err := Chain(members...)(); err == nil {
			got["time"] = strconv.FormatInt(tm.UnixNano(), 10)
		} else {
			got["error"] = err.Error()
		}
		got["read"] = float64(read) // JSON numbers decode as float64
		if !reflect.DeepEqual(got, want) {
			t.Errorf("chain case %q: got %v, want %v", name, got, want)
		}
	}
}
