// The Go module of the generated stubs (`make stubs` copies this file to gen/go/go.mod). A partner
// imports onestop.local/contracts/onestop/<service>/v1 and points a `replace` at gen/go.
module onestop.local/contracts

go 1.23

require (
	// google/api/annotations.proto's Go package (the REST routes' option, imported by the services)
	google.golang.org/genproto/googleapis/api v0.0.0-20250218202821-56aae31c358a
	google.golang.org/grpc v1.72.0
	google.golang.org/protobuf v1.36.12
)
