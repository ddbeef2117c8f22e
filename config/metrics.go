package config

import "net"

// Metrics is the [metrics] section: where Prometheus scrapes scimbridge's metrics (GET /metrics). Off
// unless listen is set; served apart from the SCIM API so that it need not be reachable by the IdP.
type Metrics struct {
	Listen string `toml:"listen"` // host:port, such as "127.0.0.1:9464"; "" serves no metrics
}

func (c *Config) validateMetrics(p *problems) {
	if l := c.Metrics.Listen; l != "" {
		if _, port, err := net.SplitHostPort(l); err != nil || port == "" {
			p.add("metrics.listen", `metrics.listen must be host:port, such as "127.0.0.1:9464" or ":9464" (leave it out to serve no metrics), got %q`, l)
		}
	}
}
