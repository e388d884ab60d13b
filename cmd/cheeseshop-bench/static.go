package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strings"
)

// StaticCmd is the floor of the wrk comparison (scripts/bench.sh): a bare
// net/http server that answers GET of each given path with a given
// file's bytes and the headers cheeseshop sent with them, and does
// nothing else (no routing beyond one map lookup, no middleware, no
// timeouts). What separates it from nginx is Go's HTTP server; what
// separates cheeseshop from it is cheeseshop's own code.
type StaticCmd struct {
	Addr string `default:"127.0.0.1:0" help:"Address to listen on."`
	// SendfileMin is the size from which a body is sent from its file
	// (opened per request, sent with sendfile(2) through ReadFrom), as
	// cheeseshop sends files larger than it holds in memory.
	SendfileMin int64    `default:"65537" help:"Bodies of at least this many bytes are sent from their file with sendfile(2), the others from memory."`
	Routes      []string `arg:"" help:"PATH=BODY[,HEADERS]: answer GET PATH with the bytes of the file BODY, and the headers of the file HEADERS (a response head as 'curl -D' saves it; Date, Content-Length and hop-by-hop headers are left to net/http)."`
}

// staticRoute is one path's answer, built once.
type staticRoute struct {
	header http.Header
	body   []byte // nil: sent from file
	file   string
	size   int64
}

// Run implements the command.
func (c *StaticCmd) Run(e *env) error {
	routes := make(map[string]*staticRoute, len(c.Routes))
	for _, spec := range c.Routes {
		path, files, ok := strings.Cut(spec, "=")
		if !ok || !strings.HasPrefix(path, "/") {
			return fmt.Errorf("static: route %q: want PATH=BODY[,HEADERS]", spec)
		}
		bodyFile, headFile, _ := strings.Cut(files, ",")
		rt, err := c.route(bodyFile, headFile)
		if err != nil {
			return err
		}
		routes[path] = rt
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := routes[r.URL.Path]
		if rt == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for k, v := range rt.header {
			h[k] = v
		}
		if rt.body != nil {
			w.Write(rt.body)
			return
		}
		f, err := os.Open(rt.file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		// Through an io.LimitedReader, which net/http sends with
		// sendfile(2) (io.Copy of the bare file would take the file's
		// WriteTo, a copy through user space).
		io.CopyN(w, f, rt.size)
	})}
	go func() {
		<-e.ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(e.stdout, "static listening on http://%s\n", ln.Addr())
	defer allocReport(e.stdout)()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// route reads a route's body (or only its size, when it is sent from the
// file) and headers.
func (c *StaticCmd) route(bodyFile, headFile string) (*staticRoute, error) {
	fi, err := os.Stat(bodyFile)
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	rt := &staticRoute{header: http.Header{}, file: bodyFile, size: fi.Size()}
	if fi.Size() < c.SendfileMin {
		if rt.body, err = os.ReadFile(bodyFile); err != nil {
			return nil, fmt.Errorf("static: %w", err)
		}
	}
	if headFile != "" {
		head, err := os.ReadFile(headFile)
		if err != nil {
			return nil, fmt.Errorf("static: %w", err)
		}
		tp := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(head), strings.NewReader("\r\n"))))
		if _, err := tp.ReadLine(); err != nil { // the status line
			return nil, fmt.Errorf("static: %s: %w", headFile, err)
		}
		mh, err := tp.ReadMIMEHeader()
		if err != nil {
			return nil, fmt.Errorf("static: %s: %w", headFile, err)
		}
		for k, v := range mh {
			switch k {
			case "Date", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding":
				continue
			}
			rt.header[k] = v
		}
	}
	rt.header["Content-Length"] = []string{fmt.Sprint(fi.Size())}
	return rt, nil
}
