package bookkeeping

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"regexp"
	"strings"

	mysqldriver "github.com/go-sql-driver/mysql"
)

// Dialect is what differs between SQL databases in the SQL scimbridge writes: quoting, what an error
// means, the locking clause of a work queue, and reading a member of a JSON document. MySQL (MariaDB,
// MySQL 8) is the one implementation; the SQL of adapters/mysql is written for it.
type Dialect interface {
	// Quote quotes a table or column name, so that reserved words (user, order, keys) work.
	Quote(name string) string
	// Classify says what a database error means; detail is the unique key or the column it names.
	Classify(err error) (kind ErrorKind, detail string)
	// SkipLocked is the clause that locks the rows a SELECT returns, skipping rows others hold.
	SkipLocked() string
	// JSONValue is the SQL expression of the scalar at path (a quoted JSON path literal) in doc: NULL
	// for a member that is absent, null, an object or an array.
	JSONValue(doc, path string) string
	// InsertKeeping is an INSERT of rows rows into table's cols that leaves a row already holding one of
	// their unique keys as it is, yet locks it as an update would (creates of one login queue on it).
	InsertKeeping(table string, cols []string, rows int) string
}

// ErrorKind is what a database error means to scimbridge.
type ErrorKind int

const (
	ErrOther       ErrorKind = iota
	ErrRetryable             // a deadlock, a lock-wait timeout, a cluster's certification failure: the transaction may simply run again
	ErrDuplicate             // a unique key refused the row; detail names the key
	ErrTooLong               // a value longer than its column; detail names the column
	ErrMissing               // a NOT NULL column without a value; detail names the column
	ErrBadValue              // a value its column's type cannot hold; detail names the column
	ErrReferenced            // a foreign key of another row still points at the row
	ErrUnavailable           // the database cannot be reached right now
	ErrTimeout               // the request's context ended
)

// MySQL is the Dialect of MySQL and MariaDB.
var MySQL Dialect = mysqlDialect{}

type mysqlDialect struct{}

func (mysqlDialect) Quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

func (mysqlDialect) SkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (mysqlDialect) InsertKeeping(table string, cols []string, rows int) string {
	row := "(" + Placeholders(len(cols)) + ")"
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ") + " ON DUPLICATE KEY UPDATE " + cols[0] + " = " + cols[0]
}

func (mysqlDialect) JSONValue(doc, path string) string {
	return "JSON_VALUE(" + doc + ", " + path + ")"
}

// MySQL error numbers scimbridge reacts to.
const (
	errDupEntry       = 1062
	errLockWait       = 1205
	errDeadlock       = 1213
	errCommitFailed   = 1180 // "Got error during COMMIT": how some Galera versions report a certification failure
	errWsrepNotReady  = 1047 // "WSREP has not yet prepared node for application use": a node leaving or joining the cluster
	errDataTooLong    = 1406
	errBadNull        = 1048
	errNoDefault      = 1364
	errTruncated      = 1265
	errIncorrectValue = 1366
	errOutOfRange     = 1264
	errRowIsReferred  = 1451
)

var (
	dupKeyName = regexp.MustCompile(`for key '(?:[^'.]*\.)?([^']+)'`)
	// MariaDB names a column `db`.`table`.`column` in some messages (1366); the last part is the column.
	// 1364 says "Field 'x' doesn't have a default value".
	columnName = regexp.MustCompile("(?i)(?:column|field) '(?:[^'.]*\\.)*([^'.]+)'|column `(?:[^`]*`\\.`)*([^`]+)`")
)

func (mysqlDialect) Classify(err error) (ErrorKind, string) {
	if err == nil {
		return ErrOther, ""
	}
	if errors.Is(err, ErrTransactionLost) {
		return ErrRetryable, ""
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		col := ""
		if m := columnName.FindStringSubmatch(me.Message); m != nil {
			col = m[1] + m[2]
		}
		switch me.Number {
		case errDeadlock, errLockWait, errCommitFailed, errWsrepNotReady:
			return ErrRetryable, ""
		case errDupEntry:
			key := ""
			if m := dupKeyName.FindStringSubmatch(me.Message); m != nil {
				key = m[1]
			}
			return ErrDuplicate, key
		case errDataTooLong:
			return ErrTooLong, col
		case errBadNull, errNoDefault:
			return ErrMissing, col
		case errTruncated, errIncorrectValue, errOutOfRange:
			return ErrBadValue, col
		case errRowIsReferred:
			return ErrReferenced, ""
		}
		return ErrOther, ""
	}
	// Before unavailable: context.DeadlineExceeded is a net.Error too.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout, ""
	}
	var ne net.Error
	var oe *net.OpError
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysqldriver.ErrInvalidConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.As(err, &oe) || errors.As(err, &ne) {
		return ErrUnavailable, ""
	}
	return ErrOther, ""
}

// Retryable reports whether a transaction failed only because of concurrency and may run again.
func Retryable(d Dialect, err error) bool {
	kind, _ := d.Classify(err)
	return kind == ErrRetryable
}
