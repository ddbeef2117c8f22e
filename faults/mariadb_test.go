package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
)

// mariaDB is a MariaDB server of the suite's own: its datadir, socket and port in a temp dir, so that
// killing it touches nothing else (never the shared server on 3306).
type mariaDB struct {
	t       *testing.T
	dir     string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	logFile string
}

// startMariaDB installs a fresh datadir and starts mariadbd on it, or skips the test when MariaDB's
// binaries are not installed (.ci/run installs them).
func startMariaDB(t *testing.T) *mariaDB {
	t.Helper()
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		t.Skip("mariadb-install-db is not installed: the fault suite needs MariaDB's binaries to start its own server (apt-get install mariadb-server)")
	}
	if _, err := mariadbd(); err != nil {
		t.Skip(err.Error())
	}
	dir, err := os.MkdirTemp("", "scimbridge-faults-db-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	m := &mariaDB{t: t, dir: dir, port: freePort(t), logFile: filepath.Join(dir, "mariadbd.log")}
	out, err := exec.Command(install, "--no-defaults", "--datadir="+filepath.Join(dir, "data"), "--user="+currentUser(),
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func mariadbd() (string, error) {
	if p, err := exec.LookPath("mariadbd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/mariadbd"); err == nil {
		return "/usr/sbin/mariadbd", nil
	}
	return "", fmt.Errorf("mariadbd is not installed: the fault suite needs it to start its own server")
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

// start starts mariadbd on the datadir (fresh or after a kill: InnoDB recovers) and waits until it answers.
func (m *mariaDB) start() {
	m.t.Helper()
	bin, _ := mariadbd()
	logf, err := os.OpenFile(m.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		m.t.Fatal(err)
	}
	m.cmd = exec.Command(bin, "--no-defaults", "--datadir="+filepath.Join(m.dir, "data"), "--user="+currentUser(),
		fmt.Sprintf("--port=%d", m.port), "--bind-address=127.0.0.1", "--socket="+filepath.Join(m.dir, "mysqld.sock"),
		"--pid-file="+filepath.Join(m.dir, "mysqld.pid"), "--skip-log-bin", "--innodb-buffer-pool-size=64M",
		"--max-connections=300", "--innodb-lock-wait-timeout=10")
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	m.exited = make(chan struct{})
	go func() { _ = m.cmd.Wait(); logf.Close(); close(m.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sqlx.Open("mysql", m.dsn(""))
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return
		}
		select {
		case <-m.exited:
			log, _ := os.ReadFile(m.logFile)
			m.t.Fatalf("mariadbd exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mariadbd does not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill kills mariadbd with SIGKILL: no shutdown, as a crash.
func (m *mariaDB) kill() {
	_ = m.cmd.Process.Kill()
	<-m.exited
}

func (m *mariaDB) stop() {
	if m.cmd != nil && m.cmd.ProcessState == nil {
		m.kill()
	}
}

// dsn is the DSN of database name ("" for none) over TCP.
func (m *mariaDB) dsn(name string) string {
	return fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?parseTime=true&loc=UTC", m.port, name)
}

// createDB creates database name with schema and returns a pool on it.
func (m *mariaDB) createDB(name string, schema ...string) *sqlx.DB {
	m.t.Helper()
	admin, err := sqlx.Open("mysql", m.dsn(""))
	if err != nil {
		m.t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		m.t.Fatal(err)
	}
	db, err := mysql.Open(m.dsn(name), 20)
	if err != nil {
		m.t.Fatal(err)
	}
	m.t.Cleanup(func() { db.Close() })
	for _, s := range schema {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			m.t.Fatalf("schema: %v\n%s", err, s)
		}
	}
	return db
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
