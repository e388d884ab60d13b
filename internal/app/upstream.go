package app

import (
	"fmt"

	"cheeseshop/internal/index"
	"cheeseshop/internal/upstream"
)

// newUpstream builds the proxy of Config.Upstreams (nil when there is
// none), or returns Deps.Upstream. It logs each upstream once, without
// its credentials, and warns that a minimum release age hides every
// file of an upstream that gives no upload times (PEP 503 HTML).
func (a *App) newUpstream(cfg Config, d Deps) (index.Upstream, error) {
	if d.Upstream != nil {
		return d.Upstream, nil
	}
	if len(cfg.Upstreams) == 0 {
		return nil, nil
	}
	pcfg := upstream.ProxyConfig{TTL: cfg.UpstreamTTL, NegativeTTL: cfg.UpstreamNegativeTTL, MinAge: cfg.UpstreamMinAge,
		AllowList: cfg.UpstreamAllowList, MaxFetches: cfg.UpstreamMaxFetches, MaxFileSize: cfg.UpstreamMaxFileSize,
		BaseURL: cfg.BaseURL, Now: d.Now, Log: d.Log.With("component", "upstream"),
		Client: upstream.Config{UserAgent: "cheeseshop (+" + cfg.BaseURL + ")", HeaderTimeout: cfg.UpstreamTimeout}}
	if cfg.UpstreamTimeout > upstream.DefaultPageTimeout {
		pcfg.Client.PageTimeout = cfg.UpstreamTimeout
	}
	for _, raw := range cfg.Upstreams {
		up, err := upstream.ParseUpstream(raw, cfg.UpstreamFileHosts...)
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		pcfg.Upstreams = append(pcfg.Upstreams, up)
		d.Log.Info("proxying an upstream index", "upstream", up.String(), "file_hosts", up.FileHosts(),
			"credentials", up.HasCredentials(), "priority", len(pcfg.Upstreams))
	}
	if cfg.UpstreamMinAge > 0 {
		d.Log.Warn("a minimum release age applies to upstream files: files without an upload time are never listed, so an upstream serving PEP 503 HTML lists nothing except under a break glass",
			"min_age", cfg.UpstreamMinAge)
	}
	p, err := upstream.NewProxy(a.Store, d.Blobs, pcfg)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a.closeUpstream = p.Close
	return p, nil
}
