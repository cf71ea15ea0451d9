// A partner's Go client built from the stubs `buf generate` writes (tests/e2e/test_partner_clients.py):
// lists the procedures and looks a dossier up on intake's gRPC API, printing one JSON line each.
//
//	partner-client <host:port> <dossier code> <lookup secret>
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	intakev1 "onestop.local/contracts/onestop/intake/v1"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: partner-client <host:port> <dossier code> <lookup secret>")
		os.Exit(2)
	}
	conn, err := grpc.NewClient(os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	intake := intakev1.NewIntakeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	procedures, err := intake.ListProcedures(ctx, &intakev1.ListProceduresRequest{PageSize: 5})
	if err != nil {
		fail(err)
	}
	emit(procedures)
	found, err := intake.LookupDossier(ctx, &intakev1.LookupDossierRequest{Code: os.Args[2], Secret: os.Args[3]})
	if err != nil {
		fail(err)
	}
	emit(found)
}

// emit prints a message as one line of proto3 JSON.
func emit(m proto.Message) {
	line, err := protojson.MarshalOptions{UseProtoNames: false}.Marshal(m)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(line))
}

// fail prints a gRPC error as "<code> <message>" on stderr and exits 1.
func fail(err error) {
	fmt.Fprintf(os.Stderr, "%s %s\n", status.Code(err), status.Convert(err).Message())
	os.Exit(1)
}
