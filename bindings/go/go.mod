module github.com/realsig/realsig/bindings/go

go 1.25.0

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/beevik/ntp v1.5.0
	github.com/tetratelabs/wazero v1.12.0
)

require (
	github.com/aws/smithy-go v1.28.9 // indirect
	golang.org/x/net v0.44.0 // indirect
	golang.org/x/sys v0.44.0 // indirect
)
