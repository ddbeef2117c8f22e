package saml

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"
)

// identityKey carries the identity headers computed for a request to the proxy's Rewrite.
type identityKey struct{}

// newProxy builds the reverse proxy to the application. It uses Rewrite (not Director), so that
// hop-by-hop headers (including any the client names in Connection) are removed before the gate's
// headers are set. Every forwarding header of the client is gone already (stripFrom, in all
// spellings); the gate sets its own from its own view: X-Forwarded-For the TCP peer it sees,
// X-Forwarded-Host and Host the public URL's host (never the client's Host header: apps build links
// from it), X-Forwarded-Proto the public URL's scheme (TLS usually ends before the gate).
func (g *Gate) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(g.opts.Upstream)
			pub := g.opts.PublicURL
			pr.Out.Host = pub.Host
			for k := range pr.Out.Header {
				if isForwarding(k) { // httputil removes only the canonical spellings: be sure
					delete(pr.Out.Header, k)
				}
			}
			if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
				pr.Out.Header.Set("X-Forwarded-For", ip)
			}
			pr.Out.Header.Set("X-Forwarded-Host", pub.Host)
			pr.Out.Header.Set("X-Forwarded-Proto", pub.Scheme)
			stripCookies(pr.Out.Header, g.isGateCookie)
			if vals, ok := pr.In.Context().Value(identityKey{}).([]headerValue); ok {
				// Signed over the method and the request URI exactly as the application receives them.
				g.headers.apply(pr.Out.Header, vals, pr.Out.Method, pr.Out.URL.RequestURI(), g.opts.Now())
			}
		},
		Transport: g.opts.Transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away
			}
			n := g.stats.upstreamErrors.Add(1)
			g.log.Error("gate: upstream request failed", "method", r.Method, "path", r.URL.Path, "err", err, "upstream_errors_total", n)
			g.page(w, http.StatusBadGateway, pageUpstreamDown)
		},
	}
}

// newTransport is the transport to the application, with timeouts on every step.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // the application is reached directly, whatever HTTP_PROXY says
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		ExpectContinueTimeout: time.Second,
	}
}

// proxyAs forwards the request to the application with the user's identity headers (nil on bypass paths).
func (g *Gate) proxyAs(w http.ResponseWriter, r *http.Request, identity []headerValue) {
	if identity != nil {
		r = r.WithContext(context.WithValue(r.Context(), identityKey{}, identity))
	}
	g.proxy.ServeHTTP(w, r)
}

func (g *Gate) isGateCookie(name string) bool {
	return name == g.session.name || strings.HasPrefix(name, trackerCookiePrefix)
}

// bypassRule is one entry of gate.bypass: an exact path, or a prefix when it ends with "/".
type bypassRule struct {
	path   string
	prefix bool
}

func parseBypass(paths []string) []bypassRule {
	var rules []bypassRule
	for _, p := range paths {
		rules = append(rules, bypassRule{path: p, prefix: strings.HasSuffix(p, "/")})
	}
	return rules
}

// bypassed reports whether a request path goes through without login. Only a plain path qualifies: one
// with "." or ".." segments, "//", "\", ";" or "%" (left after decoding) could be read by the application
// as another path ("/static/..;/admin" is "/admin" to Tomcat), so it needs login like any other.
func (g *Gate) bypassed(path string) bool {
	match := false
	for _, b := range g.bypass {
		if b.prefix && strings.HasPrefix(path, b.path) || !b.prefix && path == b.path {
			match = true
			break
		}
	}
	return match && plainPath(path)
}

func plainPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, "\\;%\x00") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
