package realsig_test

import (
	"context"
	"fmt"
	"net/http"

	realsig "github.com/realsig/realsig/bindings/go"
)

// The README's example (compiled, not run: it would ask public NTP servers).
func ExampleSigner_Sign() {
	ctx := context.Background()
	signer, err := realsig.NewSigner(realsig.WithRealNow(realsig.Chain(
		realsig.NewNTPClock([]string{"time.aws.com", "pool.ntp.org"}).Now,
		realsig.RawClock(),
	)))
	if err != nil {
		panic(err)
	}
	defer signer.Close()

	req, _ := http.NewRequest("GET", "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	creds := realsig.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	if err := signer.Sign(ctx, req, creds, "us-east-1", "sts"); err != nil {
		panic(err)
	}
	fmt.Println(req.Header.Get("Authorization") != "")
}
