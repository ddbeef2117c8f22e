package demo

import (
	"errors"
	"regexp"

	"github.com/dolthub/vitess/go/mysql"
)

// go-mysql-server reports some errors with the generic number 1105 or with wording of its own, where
// MySQL and MariaDB give a number and a message that scimbridge turns into a precise SCIM error (a 400
// naming the column rather than a 500). mysqlErrors rewrites those the demo can run into.
var mysqlErrors = []struct {
	num     int // go-mysql-server's number
	re      *regexp.Regexp
	toNum   int
	toState string
	toMsg   string // fmt format, given the first submatch if the pattern has one
}{
	{1105, regexp.MustCompile(`(?s)^string '.*' is too large for column '([^']+)'$`),
		mysql.ERDataTooLong, mysql.SSDataTooLong, "Data too long for column '%s' at row 1"},
	{1105, regexp.MustCompile(`^Field '([^']+)' doesn't have a default value$`),
		mysql.ERNoDefaultForField, mysql.SSUnknownSQLState, "Field '%s' doesn't have a default value"},
	{1105, regexp.MustCompile(`(?s)^.* out of range for \w+$`),
		mysql.ERWarnDataOutOfRange, mysql.SSDataOutOfRange, "Out of range value for column '' at row 1"},
	{1048, regexp.MustCompile(`^column name '([^']+)' is non-nullable`),
		mysql.ERBadNullError, "23000", "Column '%s' cannot be null"},
}

// mysqlError returns err with MySQL's number and message where go-mysql-server's differ.
func mysqlError(err error) error {
	var se *mysql.SQLError
	if !errors.As(err, &se) {
		return err
	}
	for _, e := range mysqlErrors {
		if se.Num != e.num {
			continue
		}
		m := e.re.FindStringSubmatch(se.Message)
		if m == nil {
			continue
		}
		if len(m) > 1 {
			return mysql.NewSQLError(e.toNum, e.toState, e.toMsg, m[1])
		}
		return mysql.NewSQLError(e.toNum, e.toState, "%s", e.toMsg)
	}
	return err
}
