package saml

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"
)

// identityKey carries the headers computed for a request to the proxy's Rewrite.
type identityKey struct{}

// newProxy builds the reverse proxy to the application. It uses Rewrite (not Director), so that
// X-Forwarded-For/-Host/-Proto sent by the client are dropped and set again by the proxy (For: the peer
// address; Host: the request's; Proto: the public URL's scheme), and hop-by-hop headers (including any the
// client names in Connection) are removed before the gate's headers are set.
func (g *Gate) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(g.opts.Upstream)
			pr.Out.Host = pr.In.Host // the app sees the host the browser used, as behind any front proxy
			pr.SetXForwarded()
			// TLS usually ends before the gate: the scheme browsers use is the public URL's.
			pr.Out.Header.Set("X-Forwarded-Proto", g.opts.PublicURL.Scheme)
			stripCookies(pr.Out.Header, g.isGateCookie)
			if h, ok := pr.In.Context().Value(identityKey{}).(http.Header); ok {
				for k, v := range h {
					pr.Out.Header[k] = v
				}
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

// proxyAs forwards the request to the application with the headers of user (nil on bypass paths).
func (g *Gate) proxyAs(w http.ResponseWriter, r *http.Request, identity http.Header) {
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
