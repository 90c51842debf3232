// Command baseline serves the benchmark baselines in a process of their own, as the
// services run in theirs: a bare gRPC echo, a bare net/http JSON echo, and the gateway in
// front of the bare gRPC echo. It prints its addresses as one JSON line on stdout and runs
// until SIGINT/SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/nrs-pilots/retrain/bench/internal/baseline"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"google.golang.org/protobuf/proto"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

// Addrs are the listening addresses printed on start.
type Addrs struct {
	GRPCEcho    string `json:"grpc_echo"`
	HTTPEcho    string `json:"http_echo"`
	GatewayEcho string `json:"gateway_echo"`
}

func run(ctx context.Context) error {
	respFile := flag.String("grpc-response", "", "file with the binary CheckEligibilityResponse the gRPC echo returns")
	jsonFile := flag.String("http-response", "", "file with the JSON body the HTTP echo returns")
	flag.Parse()
	raw, err := os.ReadFile(*respFile)
	if err != nil {
		return err
	}
	resp := &eligibilityv1.CheckEligibilityResponse{}
	if err := proto.Unmarshal(raw, resp); err != nil {
		return err
	}
	body, err := os.ReadFile(*jsonFile)
	if err != nil {
		return err
	}

	listen := func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
	gl, err := listen()
	if err != nil {
		return err
	}
	hl, err := listen()
	if err != nil {
		return err
	}
	wl, err := listen()
	if err != nil {
		return err
	}
	gs := baseline.NewGRPCServer(resp)
	go func() { _ = gs.Serve(gl) }()
	defer gs.Stop()
	hs := &http.Server{Handler: baseline.HTTPEcho(body)}
	go func() { _ = hs.Serve(hl) }()
	defer hs.Close()
	gwh, closeGW, err := baseline.GatewayOverEcho(ctx, resp)
	if err != nil {
		return err
	}
	defer closeGW()
	ws := &http.Server{Handler: gwh}
	go func() { _ = ws.Serve(wl) }()
	defer ws.Close()

	if err := json.NewEncoder(os.Stdout).Encode(Addrs{GRPCEcho: gl.Addr().String(), HTTPEcho: hl.Addr().String(), GatewayEcho: wl.Addr().String()}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
