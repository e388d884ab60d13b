package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// debChromium is Debian's Chromium, which the browser tests drive.
const debChromium = "/usr/bin/chromium"

// tab is a page of a real headless Chromium, driven through the DevTools
// protocol. Every browser test gets its own Chromium with an empty profile.
type tab struct {
	t   testing.TB
	ctx context.Context
	// base is the server's URL, prefixed to paths.
	base string
	// who names the tab's screenshots (alice-03-project.png).
	who  string
	shot int
}

// newTab starts headless Chromium (closed when the test ends) with a
// window of width×height, and returns its first tab; who names its
// screenshots. Chromium keeps its profile in the test's temporary folder
// and its temporary files (the folder of its SingletonSocket, which it
// leaves when killed) in a folder of its own, both removed when the test
// ends.
func newTab(t testing.TB, who, base string, width, height int) *tab {
	t.Helper()
	requireTool(t, debChromium, "chromium")
	// Not t.TempDir(), whose path holds the test's name: the socket's path
	// must fit in 108 bytes.
	tmp, err := os.MkdirTemp("", "chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(debChromium),
		chromedp.Env("TMPDIR=" + tmp),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		// This machine's network is closed: keep Chromium from calling home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &tab{t: t, ctx: ctx, base: base, who: who}
}

// do runs steps on the tab, failing the test (with a screenshot) on error.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.screenshot("failure")
		b.t.Fatalf("chromium: %v (at %s)\n%s", err, b.location(), b.text("main"))
	}
}

// open navigates to a path of the server and waits for its main element.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// fill types into the form fields named by CSS selectors.
func (b *tab) fill(fields ...string) {
	b.t.Helper()
	if len(fields)%2 != 0 {
		b.t.Fatal("fill: selector/value pairs expected")
	}
	for i := 0; i < len(fields); i += 2 {
		b.do(chromedp.Clear(chromedp.CSS(fields[i])), chromedp.SendKeys(chromedp.CSS(fields[i]), fields[i+1]))
	}
}

// submit clicks a button and waits for the next page to be loaded.
func (b *tab) submit(button string) {
	b.t.Helper()
	b.evalString(`document.documentElement.dataset.loaded = "old"; "ok"`)
	b.do(chromedp.Click(chromedp.CSS(button)))
	b.waitNewPage()
}

// waitNewPage waits until the document marked by submit is replaced.
func (b *tab) waitNewPage() {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.readyState === "complete" && document.documentElement.dataset.loaded !== "old") ? "new" : "old"`))
		if err == nil && v == "new" {
			return
		}
		// Polling the DevTools protocol is the only way to see the
		// navigation end; each round trip takes a few milliseconds.
		time.Sleep(20 * time.Millisecond)
	}
	b.screenshot("timeout")
	b.t.Fatalf("chromium: no new page after the click (at %s)", b.location())
}

func (b *tab) evalString(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("chromium: evaluate %q: %v", js, err)
	}
	return v
}

// text returns the visible text of the first element matching sel ("" if none).
func (b *tab) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel)))
	if err != nil {
		return ""
	}
	return v
}

// location is the tab's current URL.
func (b *tab) location() string {
	v, _ := chromedp.Run(b.ctx, chromedp.Location())
	return v
}

// mustSee fails the test unless the page's main element contains each text.
func (b *tab) mustSee(texts ...string) {
	b.t.Helper()
	main := b.text("main")
	for _, s := range texts {
		if !strings.Contains(main, s) {
			b.screenshot("missing")
			b.t.Fatalf("the page %s does not show %q; it shows:\n%s", b.location(), s, main)
		}
	}
}

// screenshot saves a full-page PNG as a test artifact and returns its path.
func (b *tab) screenshot(name string) string {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	b.shot++
	dir := artifactDir(b.t)
	p := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", b.who, b.shot, name))
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// artifactDir is where screenshots go: $CHEESESHOP_ARTIFACTS/<test> when
// set (make test sets it), else the test's artifact directory.
func artifactDir(t testing.TB) string {
	if root := os.Getenv("CHEESESHOP_ARTIFACTS"); root != "" {
		dir := filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err == nil {
			return dir
		}
	}
	return t.ArtifactDir()
}

// clickJS clicks the element a JavaScript expression returns and waits
// for the page it leads to.
func (b *tab) clickJS(expr string) {
	b.t.Helper()
	b.evalString(`document.documentElement.dataset.loaded = "old"; "ok"`)
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void]("("+expr+").click()")); err != nil {
		b.screenshot("click")
		b.t.Fatalf("chromium: click %s: %v", expr, err)
	}
	b.waitNewPage()
}
