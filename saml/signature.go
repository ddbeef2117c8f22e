package saml

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// signatureVersion opens the canonical string; a later scheme gets another tag (and "v2=" in the header).
const signatureVersion = "scimbridge-gate-v1"

// canonical is what the signed header's HMAC covers, one item per line ("\n", no trailing newline):
//
//	scimbridge-gate-v1
//	<t: unix seconds>
//	<method>
//	<path and query as the application receives them (its REQUEST_URI)>
//	<name>:<value>   for each configured identity header, in the order user, email, id, app_key,
//	                 groups, roles; name in lower case, value exactly as sent (lists encoded), "" if not sent
//
// Every identity header is covered, and so are the method and the path: a signed header copied onto
// another request, or next to another header value, does not verify.
func canonical(ts, method, uri string, vals []headerValue) string {
	var b strings.Builder
	b.WriteString(signatureVersion + "\n" + ts + "\n" + method + "\n" + uri)
	for _, kv := range vals {
		b.WriteString("\n" + strings.ToLower(kv.name) + ":" + kv.value)
	}
	return b.String()
}

func mac(secret []byte, msg string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// sign is the signed header's value: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, canonical)>".
func sign(secret []byte, now time.Time, method, uri string, vals []headerValue) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, canonical(ts, method, uri, vals)))
}

// VerifyRequest checks, for a Go application behind the gate, that r came through the gate: the signed
// header (names.Signature) must hold an HMAC made with secret, within maxAge of now (either way, for clock
// skew), over r's method, r's request URI and the values of every identity header in names. Compare in
// constant time. Other languages do the same in a few lines (see README).
func VerifyRequest(r *http.Request, secret []byte, names HeaderNames, now time.Time, maxAge time.Duration) error {
	if names.Signature == "" {
		return errors.New("saml: no signed header name")
	}
	sigs := r.Header.Values(names.Signature)
	if len(sigs) != 1 {
		return errors.New("saml: not exactly one signed header")
	}
	var ts, sig string
	for _, part := range strings.Split(sigs[0], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("saml: malformed signed header")
	}
	var vals []headerValue
	for _, n := range names.signedOrder() {
		if n == "" {
			continue
		}
		got := r.Header.Values(n)
		if len(got) > 1 {
			return errors.New("saml: an identity header is repeated")
		}
		kv := headerValue{name: n}
		if len(got) == 1 {
			kv.value = got[0]
		}
		vals = append(vals, kv)
	}
	uri := r.RequestURI // as received; set by net/http's server
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	want, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(want, mac(secret, canonical(ts, r.Method, uri, vals))) {
		return errors.New("saml: signed header does not match")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return errors.New("saml: signed header is too old")
	}
	return nil
}
