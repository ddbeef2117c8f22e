package schemacheck

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/mapping"
)

// typicalLength is, per SCIM attribute (its last path element), a length that ordinary values reach: a
// shorter text column refuses real users. (Emails and userNames may be up to 254 characters; 50 is a floor, not a recommendation.)
var typicalLength = map[string]int{
	"userName": 50, "value": 0, "givenName": 32, "familyName": 32, "middleName": 32, "formatted": 64,
	"displayName": 64, "nickName": 32, "title": 32, "externalId": 36, "locale": 5, "preferredLanguage": 5,
	"timezone": 32, "department": 32, "organization": 32, "division": 32, "employeeNumber": 8, "costCenter": 8,
}

// typicalFor is the typical length of what the column holds, 0 when there is none to hold it to.
func typicalFor(source string) int {
	last := source[strings.LastIndexAny(source, ".:")+1:]
	switch {
	case strings.HasPrefix(source, "emails"):
		return 50
	case strings.HasPrefix(source, "phoneNumbers"):
		return 16
	case last == "value":
		return 0
	}
	return typicalLength[last]
}

// checkTypes holds what the mapping writes into each users column against the column's type: a
// constant or a value-map value the type cannot take (text into an INT), a constant longer than the
// column, and a text column shorter than the attribute's ordinary values.
func checkTypes(m *mapping.Users, byName map[string]columnInfo, rep *Report) {
	for _, c := range m.Columns {
		info, ok := byName[strings.ToLower(c.Name)]
		if !ok {
			continue
		}
		where := fmt.Sprintf("%s.%s", m.Table, c.Name)
		for _, k := range c.Constants() {
			s, isString := k.(string)
			switch {
			case isNumber(info.DataType) && isString && !numeric(s):
				rep.problem("users.columns.%s: the mapping writes the text %q into %s, which is %s: the database refuses it, so every write of it fails. Fix: write a number the column holds (map = { ... = 1 }, on_insert = 0), or make the column text (ALTER TABLE %s MODIFY %s VARCHAR(%d))",
					c.Name, s, where, strings.ToUpper(info.DataType), quoteIdent(m.Table), quoteIdent(c.Name), max(32, utf8.RuneCountInString(s)))
			case isText(info.DataType) && info.MaxLen != nil && int64(utf8.RuneCountInString(fmt.Sprint(k))) > *info.MaxLen:
				rep.problem("users.columns.%s: the mapping writes %q (%d characters) into %s, which holds %d: every write of it fails. Fix: a shorter value, or ALTER TABLE %s MODIFY %s VARCHAR(%d)",
					c.Name, fmt.Sprint(k), utf8.RuneCountInString(fmt.Sprint(k)), where, *info.MaxLen, quoteIdent(m.Table), quoteIdent(c.Name), utf8.RuneCountInString(fmt.Sprint(k)))
			}
		}
		src := c.Source()
		if src == "" || len(c.Constants()) > 0 || c.Need() != "text" {
			continue
		}
		if isNumber(info.DataType) {
			rep.warn("users.columns.%s: %s is %s but %s is text: a value that is not a number is refused with 400 invalidValue naming the column. Fix: a text column, or a value map",
				c.Name, where, strings.ToUpper(info.DataType), src)
			continue
		}
		if n := typicalFor(src); isText(info.DataType) && info.MaxLen != nil && *info.MaxLen < int64(n) {
			rep.problem("users.columns.%s: %s holds %d characters, but %s values commonly reach %d: scimbridge refuses a longer value with 400 invalidValue (\"a value is too long for the app's column %q\") and writes nothing, so those users cannot be provisioned. Fix: ALTER TABLE %s MODIFY %s VARCHAR(%d)",
				c.Name, where, *info.MaxLen, src, n, c.Name, quoteIdent(m.Table), quoteIdent(c.Name), max(n*2, 100))
		}
	}
}

func numeric(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}
