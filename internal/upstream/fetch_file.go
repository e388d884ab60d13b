package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Transfer is what FetchFile verified: the digest and length of the bytes
// written.
type Transfer struct {
	SHA256 string
	Size   int64
}

// errTooSlow ends a transfer below the minimum rate.
var errTooSlow = errors.New("transfer below the minimum rate")

// FetchFile streams the file f (an entry of a page) from its URL into dst,
// hashing it on the way, and checks that its SHA-256 (and its size, when
// the page gave one) is the listed one. It reads at most the listed size
// plus one byte, or Config.MaxFileSize when the size is unknown, and fails
// as unavailable when the transfer is slower than Config.MinRate.
//
// dst receives the bytes as they arrive, before they are verified: it is
// a staging area (a blob.Staged), never what is served. The caller commits
// it, under the returned digest, only when FetchFile returns nil, and
// aborts it otherwise, so that nothing unverified is ever stored. Errors:
// ErrMismatch (other bytes than listed), ErrHostile (larger than allowed,
// an URL off the allowed hosts), ErrNotFound (404, 410), ErrUnavailable
// (network, timeouts, too slow, 5xx); a failure to write to dst is
// returned wrapped as it is, in none of these classes.
func (c *Client) FetchFile(ctx context.Context, f File, dst io.Writer) (Transfer, error) {
	max := c.cfg.MaxFileSize
	if f.Size >= 0 {
		max = f.Size
	}
	return c.fetch(ctx, f.URL, f.SHA256, f.Size, max, dst)
}

// FetchMetadata streams the core metadata file of f (PEP 658: its URL
// plus ".metadata") into dst, as FetchFile does, verifying it against
// f.MetadataSHA256, at most MaxMetadataSize bytes. A file whose page
// advertised no metadata digest is ErrNotFound without a request.
func (c *Client) FetchMetadata(ctx context.Context, f File, dst io.Writer) (Transfer, error) {
	if f.MetadataSHA256 == "" {
		return Transfer{}, &Error{Upstream: c.up.String(), URL: f.MetadataURL(), Kind: ErrNotFound,
			Err: errors.New("no core metadata with a SHA-256 is advertised")}
	}
	return c.fetch(ctx, f.MetadataURL(), f.MetadataSHA256, -1, MaxMetadataSize, dst)
}

// FileSize asks the upstream the size of f with a HEAD of its URL (an
// HTML page lists none, and PEP 700 pages must give one): its
// Content-Length, or -1 when the answer has none. The request is bounded
// by Config.HeaderTimeout and follows the same rules as a fetch; a size
// beyond Config.MaxFileSize is ErrHostile.
func (c *Client) FileSize(ctx context.Context, f File) (int64, error) {
	u, err := c.allowedURL(f.URL)
	if err != nil {
		return -1, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HeaderTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodHead, u)
	if err != nil {
		return -1, c.fail(u, ErrUnavailable, err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.do(req)
	if err != nil {
		return -1, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusOK:
		return -1, c.statusError(resp)
	case resp.ContentLength > c.cfg.MaxFileSize:
		return -1, c.fail(resp.Request.URL, ErrHostile, fmt.Errorf("%d bytes, more than the %d allowed", resp.ContentLength, c.cfg.MaxFileSize))
	}
	return resp.ContentLength, nil
}

// allowedURL parses a file URL and checks it is allowed (the URL comes
// from a page, or from a row written from one).
func (c *Client) allowedURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, c.fail(&url.URL{Opaque: "(unparsable)"}, ErrHostile, errors.New("not a URL"))
	}
	if !c.up.Allowed(u) {
		return nil, c.fail(u, ErrHostile, errors.New("not an allowed URL"))
	}
	return u, nil
}

// fetch streams rawURL into dst: size is the length listed (-1 unknown),
// max the most bytes accepted.
func (c *Client) fetch(ctx context.Context, rawURL, want string, size, max int64, dst io.Writer) (Transfer, error) {
	u, err := c.allowedURL(rawURL)
	if err != nil {
		return Transfer{}, err
	}
	if !validDigest(want) {
		return Transfer{}, c.fail(u, ErrHostile, errors.New("no valid SHA-256 to check against"))
	}
	if max > c.cfg.MaxFileSize {
		return Transfer{}, c.fail(u, ErrHostile, fmt.Errorf("listed as %d bytes, more than the %d allowed", max, c.cfg.MaxFileSize))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return Transfer{}, c.fail(u, ErrUnavailable, err)
	}
	req.Header.Set("Accept-Encoding", "identity") // the file's own bytes, as hashed upstream
	resp, err := c.do(req)
	if err != nil {
		return Transfer{}, err
	}
	defer resp.Body.Close()
	final := resp.Request.URL
	if resp.StatusCode != http.StatusOK {
		return Transfer{}, c.statusError(resp)
	}
	if resp.ContentLength > max {
		kind := ErrHostile
		if size >= 0 {
			kind = ErrMismatch
		}
		return Transfer{}, c.fail(final, kind, fmt.Errorf("announced %d bytes, more than %d", resp.ContentLength, max))
	}
	var read atomic.Int64
	stop := watchRate(&read, c.cfg.MinRate, func() { cancel(errTooSlow) })
	defer stop()
	h := sha256.New()
	n, err := copyLimited(dst, h, resp.Body, max+1, &read)
	if err != nil {
		if errors.Is(err, errWrite) {
			return Transfer{}, err
		}
		if cause := context.Cause(ctx); errors.Is(cause, errTooSlow) {
			err = fmt.Errorf("%w: less than %d bytes in %s", errTooSlow, c.cfg.MinRate.Bytes, c.cfg.MinRate.Window)
		}
		return Transfer{}, c.fail(final, ErrUnavailable, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	switch {
	case size >= 0 && n != size:
		return Transfer{}, c.fail(final, ErrMismatch, fmt.Errorf("%d bytes where %d are listed", n, size))
	case n > max:
		return Transfer{}, c.fail(final, ErrHostile, fmt.Errorf("larger than %d bytes", max))
	case got != want:
		return Transfer{}, c.fail(final, ErrMismatch, fmt.Errorf("SHA-256 %s where %s is listed", got, want))
	}
	return Transfer{SHA256: got, Size: n}, nil
}

// errWrite marks a failure of the destination, not of the upstream.
var errWrite = errors.New("upstream: write the fetched file")

// copyLimited copies at most limit bytes from src to dst and h, counting
// them in read.
func copyLimited(dst, h io.Writer, src io.Reader, limit int64, read *atomic.Int64) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for n < limit {
		chunk := buf[:min(int64(len(buf)), limit-n)]
		m, err := src.Read(chunk)
		if m > 0 {
			h.Write(chunk[:m])
			if _, werr := dst.Write(chunk[:m]); werr != nil {
				return n, fmt.Errorf("%w: %w", errWrite, werr)
			}
			n += int64(m)
			read.Add(int64(m))
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// watchRate calls tooSlow when fewer than rate.Bytes were read in a
// window; stop ends the watch.
func watchRate(read *atomic.Int64, rate MinRate, tooSlow func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(rate.Window)
		defer t.Stop()
		last := read.Load()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				now := read.Load()
				if now-last < rate.Bytes {
					tooSlow()
					return
				}
				last = now
			}
		}
	}()
	return func() { close(done) }
}
