package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// galeraLib is where Debian's galera-4 package puts the provider.
const galeraLib = "/usr/lib/galera/libgalera_smm.so"

// node is one MariaDB Galera node of the test's own: its datadir, ports and socket in a temp dir, run
// as the mysql user, never the shared server on 3306. Killing it (SIGKILL, by its PID) is a crash.
type node struct {
	t                     *testing.T
	name, dir             string
	port, gcomm, ist, sst int
	cmd                   *exec.Cmd
	exited                chan struct{}
	logFile               string
	mu                    sync.Mutex
	killed                bool
}

// needGalera skips the test when galera-4 or the MariaDB binaries are not installed, unless
// SCIMBRIDGE_REQUIRE_GALERA is set (.ci/run sets it after installing them): then it fails.
func needGalera(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(galeraLib); err != nil {
		missing = append(missing, "galera-4 ("+galeraLib+")")
	}
	for _, bin := range []string{"mariadb-install-db", "rsync"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if _, err := mariadbd(); err != nil {
		missing = append(missing, "mariadbd")
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("the Galera cluster test needs %s: apt-get install mariadb-server galera-4 rsync (.ci/run does)", strings.Join(missing, ", "))
	if os.Getenv("SCIMBRIDGE_REQUIRE_GALERA") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// runAs is the user mariadbd runs as: mysql when the test runs as root (mariadbd refuses to run as
// root), else the current user.
func runAs() string {
	if os.Geteuid() == 0 {
		return "mysql"
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "mysql"
}

func mariadbd() (string, error) {
	if p, err := exec.LookPath("mariadbd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/mariadbd"); err == nil {
		return "/usr/sbin/mariadbd", nil
	}
	return "", errors.New("mariadbd is not installed")
}

// startCluster installs n datadirs and starts a Galera cluster of n nodes on loopback: the first
// bootstraps it, the others join it one after the other (rsync SST from a donor). It is torn down, by
// PID, when the test ends.
func startCluster(t *testing.T, n int) []*node {
	t.Helper()
	dir, err := os.MkdirTemp("", "scimbridge-galera-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // mariadbd runs as mysql and must reach its datadir
		t.Fatal(err)
	}
	nodes := make([]*node, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	ports := freePorts(t, 4*n)
	for i := range nodes {
		p := ports[4*i:]
		nd := &node{t: t, name: fmt.Sprintf("node%d", i+1), dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			port: p[0], gcomm: p[1], ist: p[2], sst: p[3]}
		nd.logFile = filepath.Join(nd.dir, "mariadbd.log")
		nodes[i] = nd
		wg.Go(func() { errs[i] = nd.install() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, nd := range nodes {
		t.Cleanup(nd.kill)
		if logs := os.Getenv(envLogs); logs != "" { // runs before the datadirs go (cleanups run last first)
			t.Cleanup(func() {
				if b, err := os.ReadFile(nd.logFile); err == nil {
					_ = os.WriteFile(filepath.Join(logs, nd.name+"-mariadbd.log"), b, 0o644)
				}
			})
		}
		peers := ""
		if i > 0 {
			peers = fmt.Sprintf("127.0.0.1:%d", nodes[0].gcomm)
		}
		began := time.Now()
		nd.start(peers)
		t.Logf("%s synced in %s", nd.name, time.Since(began).Round(100*time.Millisecond))
	}
	return nodes
}

func (nd *node) install() error {
	// Each node its own tmpdir: installs running at once in one /tmp collide on their temporary tables.
	if err := os.MkdirAll(filepath.Join(nd.dir, "tmp"), 0o755); err != nil {
		return err
	}
	if err := nd.chown(); err != nil {
		return err
	}
	out, err := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+filepath.Join(nd.dir, "data"), "--user="+runAs(),
		"--tmpdir="+filepath.Join(nd.dir, "tmp"), "--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: mariadb-install-db: %v\n%s", nd.name, err, out)
	}
	return nd.chown()
}

// chown gives the node's directory to the mysql user mariadbd runs as under root; otherwise it is the
// current user's already.
func (nd *node) chown() error {
	if os.Geteuid() != 0 {
		return nil
	}
	if out, err := exec.Command("chown", "-R", "mysql:mysql", nd.dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: chown: %v\n%s", nd.name, err, out)
	}
	return nil
}

// start runs mariadbd with wsrep on; peers "" bootstraps a new cluster. It waits until the node is
// synced (wsrep_ready ON).
func (nd *node) start(peers string) {
	nd.t.Helper()
	bin, _ := mariadbd()
	logf, err := os.OpenFile(nd.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		nd.t.Fatal(err)
	}
	args := []string{"--no-defaults", "--user=" + runAs(), "--datadir=" + filepath.Join(nd.dir, "data"),
		fmt.Sprintf("--port=%d", nd.port), "--bind-address=127.0.0.1", "--socket=" + filepath.Join(nd.dir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(nd.dir, "mysqld.pid"), "--tmpdir=" + filepath.Join(nd.dir, "tmp"), "--skip-log-bin", "--innodb-buffer-pool-size=64M",
		"--innodb-log-file-size=48M", "--max-connections=300", "--innodb-lock-wait-timeout=10",
		"--binlog-format=ROW", "--innodb-autoinc-lock-mode=2", "--default-storage-engine=InnoDB",
		"--wsrep-on=ON", "--wsrep-provider=" + galeraLib, "--wsrep-cluster-name=scimbridge-test",
		"--wsrep-node-name=" + nd.name, "--wsrep-sst-method=rsync",
		fmt.Sprintf("--wsrep-node-address=127.0.0.1:%d", nd.gcomm),
		fmt.Sprintf("--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:%d;ist.recv_addr=127.0.0.1:%d;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S", nd.gcomm, nd.ist),
		fmt.Sprintf("--wsrep-sst-receive-address=127.0.0.1:%d", nd.sst),
		"--wsrep-cluster-address=gcomm://" + peers}
	if peers == "" {
		args = append(args, "--wsrep-new-cluster")
	}
	nd.cmd = exec.Command(bin, args...)
	nd.cmd.Stdout, nd.cmd.Stderr = logf, logf
	if err := nd.cmd.Start(); err != nil {
		nd.t.Fatal(err)
	}
	nd.exited = make(chan struct{})
	go func() { _ = nd.cmd.Wait(); logf.Close(); close(nd.exited) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if nd.ready() {
			return
		}
		select {
		case <-nd.exited:
			nd.t.Fatalf("%s exited at start:\n%s", nd.name, nd.logTail())
		default:
		}
		if time.Now().After(deadline) {
			nd.t.Fatalf("%s is not synced after 90s:\n%s", nd.name, nd.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (nd *node) ready() bool {
	db, err := sql.Open("mysql", nd.dsn(""))
	if err != nil {
		return false
	}
	defer db.Close()
	var name, value string
	return db.QueryRow("SHOW STATUS LIKE 'wsrep_ready'").Scan(&name, &value) == nil && value == "ON"
}

// kill kills mariadbd with SIGKILL, by its PID.
func (nd *node) kill() {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.cmd == nil || nd.cmd.Process == nil || nd.killed {
		return
	}
	nd.killed = true
	_ = nd.cmd.Process.Kill()
	<-nd.exited
}

func (nd *node) logTail() string {
	b, _ := os.ReadFile(nd.logFile)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// dsn is the DSN of database name ("" for none) on this node, over TCP.
func (nd *node) dsn(name string) string {
	return fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s", nd.port, name)
}

// admin opens a pool on the node's database name.
func (nd *node) admin(name string) *sqlx.DB {
	nd.t.Helper()
	db, err := sqlx.Open("mysql", nd.dsn(name)+"?parseTime=true")
	if err != nil {
		nd.t.Fatal(err)
	}
	nd.t.Cleanup(func() { db.Close() })
	return db
}

// status reads a wsrep status variable.
func (nd *node) status(ctx context.Context, name string) string {
	db, err := sql.Open("mysql", nd.dsn(""))
	if err != nil {
		return ""
	}
	defer db.Close()
	var n, v string
	_ = db.QueryRowContext(ctx, "SHOW STATUS LIKE '"+strings.ReplaceAll(name, "'", "")+"'").Scan(&n, &v)
	return v
}

// freePorts returns n distinct free ports on loopback. The listeners stay open until all are taken: one
// closed at once may be handed out again by the next (two of a node's ports the same made rsync's SST
// daemon fail to bind, now and then).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}
