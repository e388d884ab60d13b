package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"cheeseshop/internal/disttest"
)

// UploadsCmd is an HTTP load generator for the legacy upload API.
type UploadsCmd struct {
	URL         string        `required:"" help:"Base URL of the server, e.g. http://127.0.0.1:8080 (uploads go to <URL>/legacy/)."`
	Token       string        `required:"" help:"API token of an account that may create projects."`
	Concurrency int           `default:"4" help:"Concurrent uploaders."`
	Duration    time.Duration `default:"20s" help:"How long to upload (ignored with --count)."`
	Count       int           `help:"Stop after this many uploads instead of after --duration."`
	Project     string        `help:"Project to upload new versions of (default: a new, randomly named one)."`
	Timeout     time.Duration `default:"60s" help:"Time limit of one upload."`
}

// uploadBody is a ready-to-send multipart upload.
type uploadBody struct {
	contentType string
	body        []byte
}

// buildUpload builds the multipart body twine sends for a new tiny wheel
// of name at version: the metadata fields first, then the file.
func buildUpload(name, version string) (uploadBody, error) {
	d := disttest.Dist{Name: name, Version: version, Summary: "cheeseshop-bench upload load",
		RequiresPython: ">=3.9", RequiresDist: []string{"requests>=2"}}
	content := d.Wheel()
	form := d.Form("bdist_wheel", content)
	var buf bytes.Buffer
	buf.Grow(len(content) + 2048)
	mw := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range form[k] {
			if err := mw.WriteField(k, v); err != nil {
				return uploadBody{}, err
			}
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="content"; filename="`+d.WheelFilename()+`"`)
	h.Set("Content-Type", "application/octet-stream")
	w, err := mw.CreatePart(h)
	if err != nil {
		return uploadBody{}, err
	}
	w.Write(content)
	if err := mw.Close(); err != nil {
		return uploadBody{}, err
	}
	return uploadBody{contentType: mw.FormDataContentType(), body: buf.Bytes()}, nil
}

// uploadResult is one upload's outcome.
type uploadResult struct {
	latency time.Duration
	err     error
}

// Run implements the command.
func (c *UploadsCmd) Run(e *env) error {
	if c.Concurrency <= 0 {
		return errors.New("--concurrency must be positive")
	}
	base := strings.TrimRight(c.URL, "/")
	project := c.Project
	if project == "" {
		project = "cheeseshop-bench-load-" + strings.ToLower(rand.Text()[:10])
	}
	// Versions are unique per run, so that a rerun against the same
	// project never sends an identical file (which the index would accept
	// as a harmless retry without doing the work).
	prefix := time.Now().Unix()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+c.Token))
	client := &http.Client{
		Timeout: c.Timeout,
		Transport: &http.Transport{
			MaxIdleConns:        c.Concurrency * 2,
			MaxIdleConnsPerHost: c.Concurrency * 2,
			IdleConnTimeout:     time.Minute,
		},
	}
	send := func(ctx context.Context, version string) error {
		ub, err := buildUpload(project, version)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/legacy/", bytes.NewReader(ub.body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", ub.contentType)
		req.Header.Set("Authorization", auth)
		req.Header.Set("User-Agent", "cheeseshop-bench (twine-like)")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			var eb struct{ Message string }
			if json.Unmarshal(body, &eb) == nil && eb.Message != "" {
				return fmt.Errorf("%s: %s", resp.Status[:3], eb.Message)
			}
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	}

	// The first upload creates the project; it is not counted.
	if err := send(e.ctx, fmt.Sprintf("%d.0", prefix)); err != nil {
		return fmt.Errorf("first upload (creates %s): %w", project, err)
	}

	ctx := e.ctx
	var cancel context.CancelFunc
	if c.Count <= 0 {
		ctx, cancel = context.WithTimeout(e.ctx, c.Duration)
	} else {
		ctx, cancel = context.WithCancel(e.ctx)
	}
	defer cancel()
	var next atomic.Int64
	results := make([][]uploadResult, c.Concurrency)
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := next.Add(1)
				if c.Count > 0 && n > int64(c.Count) {
					return
				}
				t := time.Now()
				err := send(ctx, fmt.Sprintf("%d.%d", prefix, n))
				if err != nil && ctx.Err() != nil {
					return // cut short by the end of the run: not an error
				}
				results[w] = append(results[w], uploadResult{latency: time.Since(t), err: err})
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0

	var lat []time.Duration
	errs := map[string]int{}
	for _, rs := range results {
		for _, r := range rs {
			if r.err != nil {
				errs[r.err.Error()]++
				continue
			}
			lat = append(lat, r.latency)
		}
	}
	nerr := 0
	for _, n := range errs {
		nerr += n
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := min(len(lat)-1, int(p*float64(len(lat))))
		return float64(lat[i].Microseconds()) / 1000
	}
	rate := float64(len(lat)) / elapsed.Seconds()
	fmt.Fprintf(e.stdout, "uploads: %d ok, %d errors in %.1fs with %d uploaders to %s/legacy/ (project %s)\n",
		len(lat), nerr, elapsed.Seconds(), c.Concurrency, base, project)
	fmt.Fprintf(e.stdout, "uploads: %.1f uploads/s; latency ms p50 %.1f, p90 %.1f, p99 %.1f, max %.1f; load generator CPU %.0f%% of one core\n",
		rate, pct(0.50), pct(0.90), pct(0.99), pct(1), 100*cpu.Seconds()/elapsed.Seconds())
	for msg, n := range errs {
		fmt.Fprintf(e.stdout, "  error x%d: %s\n", n, msg)
	}
	// One line for scripts.
	fmt.Fprintf(e.stdout, "RESULT uploads_per_s=%.1f ok=%d errors=%d p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
		rate, len(lat), nerr, pct(0.50), pct(0.90), pct(0.99), pct(1))
	if len(lat) == 0 {
		return errors.New("no upload succeeded")
	}
	return nil
}

// cpuTime is the CPU time (user + system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
