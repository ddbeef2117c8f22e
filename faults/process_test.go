package faults

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/internal/legacyapp"
)

const (
	token     = "faults-bearer-token-0123456789"
	whsec     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	basePath  = "/scim/v2"
	hookName  = "faults"
	dbName    = "faults_app"
	secretEnv = "FAULTS_WEBHOOK_SECRET"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// scimbridgeBinary builds cmd/scimbridge once per test run.
func scimbridgeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scimbridge-faults-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "scimbridge")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/scimbridge/scimbridge/cmd/scimbridge").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// replica is one scimbridge process (`scimbridge serve`) on the suite's database.
type replica struct {
	t      *testing.T
	name   string
	bin    string
	config string
	env    []string
	port   int
	log    *bytes.Buffer
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// newReplica writes a config (legacy app users, one webhook endpoint at hookURL) and starts scimbridge.
func newReplica(t *testing.T, name string, db *mariaDB, hookURL string) *replica {
	t.Helper()
	dir := t.TempDir()
	r := &replica{t: t, name: name, bin: scimbridgeBinary(t), port: freePort(t), log: &bytes.Buffer{},
		config: filepath.Join(dir, "scimbridge.toml")}
	users := strings.Replace(legacyapp.UsersTOML, "\n[columns]\n", "\n[users.columns]\n", 1)
	cfg := fmt.Sprintf(`[server]
listen = "127.0.0.1:%d"
base_path = %q
[auth]
tokens_env = ["SCIMBRIDGE_TOKEN"]
[database]
dsn_env = "SCIMBRIDGE_DSN"
[users]%s
[[webhooks]]
name = %q
url = %q
events = ["*"]
secret_env = %q
timeout = "3s"
`, r.port, basePath, users, hookName, hookURL, secretEnv)
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.env = append(os.Environ(), "SCIMBRIDGE_TOKEN="+token, "SCIMBRIDGE_DSN="+db.dsn(dbName), secretEnv+"="+whsec)
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *replica) url() string { return fmt.Sprintf("http://127.0.0.1:%d%s", r.port, basePath) }

// start runs `scimbridge serve` and waits until it answers.
func (r *replica) start() {
	r.t.Helper()
	r.mu.Lock()
	r.cmd = exec.Command(r.bin, "serve", "--config", r.config)
	r.cmd.Env = r.env
	r.cmd.Stdout, r.cmd.Stderr = &lockedWriter{mu: &r.mu, w: r.log}, &lockedWriter{mu: &r.mu, w: r.log}
	err := r.cmd.Start()
	exited := make(chan struct{})
	r.exited = exited
	cmd := r.cmd
	r.mu.Unlock()
	if err != nil {
		r.t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, r.url()+"/ServiceProviderConfig", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			r.t.Fatalf("%s exited at start:\n%s", r.name, r.logs())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s does not answer: %v\n%s", r.name, err, r.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill kills the process with SIGKILL, as a crash.
func (r *replica) kill() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// dumpGoroutines asks the Go runtime of the process for its goroutines (SIGQUIT), into its log.
func (r *replica) dumpGoroutines() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
	}
}

func (r *replica) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd.Process.Pid
}

func (r *replica) logs() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// cli runs a scimbridge subcommand with this replica's config and environment.
func (r *replica) cli(args ...string) (string, error) {
	cmd := exec.Command(r.bin, args...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

// Write is called from the process's copying goroutine, without r.mu held by the caller.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
