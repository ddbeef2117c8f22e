package demo

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode"

	"github.com/scimbridge/scimbridge/config"
)

// baseURL is http://host:port of a listener, with 127.0.0.1 for an unspecified address (0.0.0.0 or ::,
// which also accepts IPv4 connections).
func baseURL(ln net.Listener) string {
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

// orFree is addr, or a free port on 127.0.0.1 when addr is empty.
func orFree(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

// checkToken rejects a -token that scimbridge would not accept.
func checkToken(t string) error {
	if len(t) < config.MinTokenLength {
		return fmt.Errorf("-token must be at least %d characters long", config.MinTokenLength)
	}
	// scimbridge reads it as config.example.toml's auth.tokens_env, where spaces and commas separate tokens.
	if strings.IndexFunc(t, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) >= 0 {
		return errors.New("-token must not contain spaces or commas")
	}
	return nil
}
