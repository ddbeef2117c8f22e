// Package benchdb gives each benchmark run a database of its own on the test server, dropped when the
// run ends, also after an interrupt or a -timeout, so that no run depends on or leaves data behind.
package benchdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// With creates a database scimbridge_bench_<random> on the server of serverDSN, calls fn with a DSN
// for it, and drops it afterwards whatever fn returned; out gets a line when it is created and dropped.
// With a name (a tool's -db), the database of that name is used instead, created if missing, and
// kept: a dataset of 1,000,000 users is seeded once and measured by several runs (drop it by hand).
func With(ctx context.Context, serverDSN, keep string, out io.Writer, fn func(dsn string) error) (err error) {
	cfg, err := mysqldriver.ParseDSN(serverDSN)
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	admin, err := sqlx.Open("mysql", serverDSN)
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return fmt.Errorf("database server unreachable (start MariaDB, or set SCIMBRIDGE_TEST_DSN / -dsn): %w", err)
	}
	if keep != "" {
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+keep+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
			return err
		}
		fmt.Fprintf(out, "database %s (kept after the run)\n", keep)
		cfg.DBName = keep
		return fn(cfg.FormatDSN())
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "scimbridge_bench_" + hex.EncodeToString(buf)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return err
	}
	fmt.Fprintf(out, "database %s created\n", name)
	defer func() {
		// Its own context: the run's may have ended by interrupt or timeout.
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, derr := admin.ExecContext(dctx, "DROP DATABASE IF EXISTS `"+name+"`"); derr != nil {
			err = errors.Join(err, fmt.Errorf("dropping %s: %w", name, derr))
			return
		}
		fmt.Fprintf(out, "database %s dropped\n", name)
	}()
	cfg.DBName = name
	return fn(cfg.FormatDSN())
}
