// Command bench-proxy is the load side of scripts/bench-proxy.sh, and the stand-in for
// awslabs/aws-sigv4-proxy it is compared with (that module is not served here).
//
//	bench-proxy standin -listen ADDR -upstream URL   a stand-in for aws-sigv4-proxy
//	bench-proxy get -url URL -conns N -duration D [-sign]   small GETs: requests/s, p50, p99
//	bench-proxy put -url URL -file PATH [-sign]             one upload: MiB/s
//
// -sign signs each request here with aws-sdk-go-v2 (the direct rows: s3s-fs checks every
// signature); without it the request goes unsigned, for a proxy to sign. Credentials come
// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the region is us-east-1, the service s3.
//
// The stand-in is labelled as one: it does what aws-sigv4-proxy v1.x does to a request,
// with aws-sdk-go-v2's signer in place of aws-sdk-go v1's: an httputil.ReverseProxy whose
// Director reads the whole body into memory, hashes it, and signs with time.Now().
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func credentials() aws.Credentials {
	return aws.Credentials{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
	}
}

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: bench-proxy standin|get|put ...")
	}
	switch os.Args[1] {
	case "standin":
		standin(os.Args[2:])
	case "get":
		get(os.Args[2:])
	case "put":
		put(os.Args[2:])
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}

func standin(args []string) {
	fs := flag.NewFlagSet("standin", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8081", "address")
	upstream := fs.String("upstream", "", "upstream URL")
	_ = fs.Parse(args)
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	signer := v4.NewSigner()
	creds := credentials()
	proxy := &httputil.ReverseProxy{
		Director: func(r *http.Request) {
			// aws-sigv4-proxy's handler: the whole body in memory, then hashed and signed.
			var body []byte
			if r.Body != nil { // ReverseProxy sets it to nil for an empty body
				var err error
				if body, err = io.ReadAll(r.Body); err != nil {
					log.Printf("reading the body: %v", err)
				}
			}
			sum := sha256.Sum256(body)
			r.URL.Scheme = target.Scheme
			r.URL.Host = target.Host
			r.Host = target.Host
			if len(body) > 0 {
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			r.ContentLength = int64(len(body))
			for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"} {
				r.Header.Del(h)
			}
			hash := hex.EncodeToString(sum[:])
			r.Header.Set("X-Amz-Content-Sha256", hash)
			if err := signer.SignHTTP(context.Background(), creds, r, hash, "s3", "us-east-1", time.Now()); err != nil {
				log.Printf("signing: %v", err)
			}
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024},
	}
	log.Printf("stand-in for aws-sigv4-proxy listening on %s, upstream %s", *listen, *upstream)
	log.Fatal(http.ListenAndServe(*listen, proxy))
}

func client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}}
}

func sign(r *http.Request, hash string) {
	r.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(context.Background(), credentials(), r, hash, "s3", "us-east-1", time.Now()); err != nil {
		log.Fatal(err)
	}
}

func get(args []string) {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	target := fs.String("url", "", "object URL")
	conns := fs.Int("conns", 64, "concurrent connections")
	duration := fs.Duration("duration", 10*time.Second, "how long")
	signed := fs.Bool("sign", false, "sign each request (direct to the server)")
	_ = fs.Parse(args)
	c := client(*conns)
	var done, failed atomic.Int64
	latencies := make([][]time.Duration, *conns)
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				start := time.Now()
				r, _ := http.NewRequest("GET", *target, nil)
				if *signed {
					sign(r, emptySHA256)
				}
				resp, err := c.Do(r)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				latencies[i] = append(latencies[i], time.Since(start))
				done.Add(1)
			}
		}(i)
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	fmt.Printf("requests_per_s=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
		float64(done.Load())/duration.Seconds(), pct(0.50), pct(0.99), failed.Load())
}

func put(args []string) {
	fs := flag.NewFlagSet("put", flag.ExitOnError)
	target := fs.String("url", "", "object URL")
	path := fs.String("file", "", "the file to upload (read as it is sent)")
	signed := fs.Bool("sign", false, "sign the request here (UNSIGNED-PAYLOAD: direct to the server)")
	_ = fs.Parse(args)
	file, err := os.Open(*path)
	if err != nil {
		log.Fatal(err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		log.Fatal(err)
	}
	size := info.Size()
	r, _ := http.NewRequest("PUT", *target, file)
	r.ContentLength = size
	if *signed {
		sign(r, "UNSIGNED-PAYLOAD")
	}
	start := time.Now()
	resp, err := client(1).Do(r)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		log.Fatalf("HTTP %d: %s", resp.StatusCode, body)
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("mib_per_s=%.1f seconds=%.2f\n", float64(size)/(1<<20)/secs, secs)
}
