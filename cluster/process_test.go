package cluster

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/invariants"
	"github.com/scimbridge/scimbridge/webhook"
)

// Environment of a replica process: the test binary run again as one scimbridge replica, so that the
// test can kill a real process with SIGKILL without building cmd/scimbridge.
const (
	envReplicaDSN  = "SCIMBRIDGE_CLUSTER_REPLICA_DSN"
	envReplicaHook = "SCIMBRIDGE_CLUSTER_REPLICA_HOOK"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(envReplicaDSN); dsn != "" {
		if err := serveReplica(dsn, os.Getenv(envReplicaHook)); err != nil {
			fmt.Fprintln(os.Stderr, "replica:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tune are the webhook settings of every replica of the test, faster than serve's so that the test's
// minute holds a hand-over: polls of 20ms, fan-out handed on within 3s, unused seqs given up after 3s,
// and claims whose replica died free again after 6s (the endpoint's timeout is 5s).
func tune(o webhook.Options) webhook.Options {
	o.PollInterval, o.FanOutLease, o.GapGrace, o.Lease = 20*time.Millisecond, 3*time.Second, 3*time.Second, 6*time.Second
	return o
}

// serveReplica is the replica process: it serves until killed, after printing its SCIM base URL.
func serveReplica(dsn, hookURL string) error {
	cfg, err := config.Parse([]byte(invariants.ConfigTOML(hookURL)), "cluster.toml")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a, err := app.New(context.Background(), cfg, app.Options{Getenv: invariants.Env(dsn), Listener: ln, TuneWebhooks: tune})
	if err != nil {
		return err
	}
	fmt.Printf("serving http://%s%s\n", a.Addr(), invariants.BasePath)
	return a.Run(context.Background())
}

// process is a replica process.
type process struct {
	cmd    *exec.Cmd
	base   string
	exited chan struct{}
}

// startProcess runs the test binary as a replica on dsn and waits for its address.
func startProcess(t *testing.T, dsn, hookURL string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envReplicaDSN+"="+dsn, envReplicaHook+"="+hookURL)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if base, ok := strings.CutPrefix(sc.Text(), "serving "); ok {
				lines <- base
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	select {
	case p.base = <-lines:
		return p
	case <-p.exited:
		t.Fatalf("the replica process exited at start: %s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the replica process does not serve after 60s: %s", stderr.String())
	}
	return nil
}

// kill kills the process with SIGKILL, by its PID, as a crash.
func (p *process) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// envLogs names a directory for the replicas' logs (access log and retries, JSON, one file per node):
// with it a failed run can be followed request by request. Without it the logs are discarded.
const envLogs = "SCIMBRIDGE_CLUSTER_LOGS"

func replicaLog(t *testing.T, name string) *slog.Logger {
	dir := os.Getenv(envLogs)
	if dir == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	t.Logf("replica on %s logs to %s", name, f.Name())
	return slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
