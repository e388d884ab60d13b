package e2e

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
)

// TestKilledDuringLargeUpload is the crash-safety acceptance test: a server
// killed with SIGKILL in the middle of a large upload leaves no visible
// file, no row, and a clean restart.
func TestKilledDuringLargeUpload(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	opts := serverOptions{Data: data, Args: []string{"--max-file-size", "200MiB"}}
	s, token := startWithUploader(t, opts)

	stop := timed(t, "writing a 150 MiB wheel")
	wheel := writeBigWheel(t, t.TempDir(), "bigcheese", "1.0", 150<<20)
	stop()

	// Start the upload; the content goes out 8 MiB at a time, when the
	// test says so.
	p, done := startPacedUpload(t, s.URL, token, wheel, 8<<20)

	tmp := filepath.Join(data, "files", "tmp")
	staged := func() (string, int64) { return stagedUpload(data) }
	// waitStaged polls until the staged file is bigger than min.
	waitStaged := func(min int64) (string, int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			if f, n := staged(); n > min {
				return f, n
			}
			select {
			case r := <-done:
				t.Fatalf("the upload ended before the server staged it: %s %v", r.status, r.err)
			default:
			}
			if time.Now().After(deadline) {
				f, n := staged()
				t.Fatalf("no staged upload bigger than %d bytes under %s after 60s (found %q, %d bytes)", min, tmp, f, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	stop = timed(t, "upload until the staged file grows")
	p.more <- struct{}{}
	file, n1 := waitStaged(0)
	p.more <- struct{}{}
	_, n2 := waitStaged(n1)
	stop()
	t.Logf("staged file %s grew from %d to %d bytes; killing the server (SIGKILL)", file, n1, n2)
	oldStage := filepath.Dir(file)
	s.kill()
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the killed server's staged file is gone before any restart (%v): the test proves nothing", err)
	}
	select {
	case r := <-done:
		if r.err == nil {
			t.Errorf("the upload to the killed server answered %q, want a broken connection", r.status)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the client did not notice the server's death within 30s")
	}

	stop = timed(t, "restart on the same data")
	s2 := startServer(t, opts)
	stop()
	if !s2.waitLog(`msg="removed uploads abandoned by a previous process" folders=1`) {
		t.Errorf("the restarted server does not log the removal of the abandoned upload:\n%s", s2.Log())
	}

	t.Run("staging_cleaned", func(t *testing.T) {
		names := readDirNames(t, tmp)
		if len(names) != 2 || names[0]+".lock" != names[1] || !strings.HasPrefix(names[0], "p") {
			t.Fatalf("%s holds %q, want only the new server's p* folder and its .lock", tmp, names)
		}
		if filepath.Join(tmp, names[0]) == oldStage {
			t.Errorf("the new server uses the dead one's staging folder %s", oldStage)
		}
		if fileExists(oldStage) || fileExists(oldStage+".lock") {
			t.Errorf("the abandoned staging folder %s (or its lock) is still there", oldStage)
		}
	})

	t.Run("no_visible_file", func(t *testing.T) {
		for _, path := range []string{"/simple/bigcheese/", "/pypi/bigcheese/json", "/files/" + wheel.sha256 + "/" + filepath.Base(wheel.path)} {
			if resp, _ := s2.get(t, path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %s, want 404", path, resp.Status)
			}
		}
		for _, accept := range []string{"text/html", "application/vnd.pypi.simple.v1+json"} {
			if _, body := s2.get(t, "/simple/", "Accept", accept); bytes.Contains(body, []byte("bigcheese")) {
				t.Errorf("/simple/ (%s) lists bigcheese:\n%s", accept, body)
			}
		}
		filepath.WalkDir(filepath.Join(data, "files", "sha256"), func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			fi, _ := e.Info()
			if e.Name() == wheel.sha256 || (fi != nil && fi.Size() >= wheel.size/2) {
				t.Errorf("blob store holds %s (%d bytes): the interrupted upload is visible", p, fi.Size())
			}
			return nil
		})
	})

	t.Run("no_row", func(t *testing.T) {
		ctx := context.Background()
		st, err := store.Open(ctx, "sqlite://"+filepath.Join(data, "cheeseshop.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if p, err := st.ProjectByName(ctx, "bigcheese"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("project bigcheese: %+v, %v; want not found", p, err)
		}
		if f, err := st.FileByFilename(ctx, filepath.Base(wheel.path)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("file row %s: %+v, %v; want not found", filepath.Base(wheel.path), f, err)
		}
		if used, err := st.FilenameUsed(ctx, filepath.Base(wheel.path)); err != nil || used {
			t.Errorf("filename %s burned: %v, %v; want free", filepath.Base(wheel.path), used, err)
		}
	})

	t.Run("upload_again_succeeds", func(t *testing.T) {
		defer timed(t, "full-speed upload of the 150 MiB wheel")()
		status, err := uploadWheel(s2.URL, token, wheel, nil)
		if err != nil || !strings.HasPrefix(status, "200") {
			t.Fatalf("uploading the wheel again: %q, %v", status, err)
		}
		_, body := s2.get(t, "/simple/bigcheese/", "Accept", "application/vnd.pypi.simple.v1+json")
		if !bytes.Contains(body, []byte(wheel.sha256)) {
			t.Errorf("/simple/bigcheese/ does not list the wheel:\n%s", body)
		}
		blob := filepath.Join(data, "files", "sha256", wheel.sha256[:2], wheel.sha256[2:4], wheel.sha256)
		if fi, err := os.Stat(blob); err != nil || fi.Size() != wheel.size {
			t.Errorf("blob %s: %v (want %d bytes)", blob, err, wheel.size)
		}
		names := readDirNames(t, tmp)
		if len(names) != 2 || len(readDirNames(t, filepath.Join(tmp, names[0]))) != 0 {
			t.Errorf("after a successful upload the staging area holds %q (and %q), want an empty folder and its lock",
				names, readDirNames(t, filepath.Join(tmp, names[0])))
		}
	})
}

// bigWheel is a wheel written by writeBigWheel.
// stagedUpload returns the first upload the server under data is staging
// (in files/tmp/p*/), and its size so far; "" when there is none.
func stagedUpload(data string) (string, int64) {
	m, _ := filepath.Glob(filepath.Join(data, "files", "tmp", "p*", "*"))
	for _, f := range m {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			return f, fi.Size()
		}
	}
	return "", 0
}

type bigWheel struct {
	path, sha256, name, version string
	size                        int64
}

// writeBigWheel writes a valid wheel holding payload bytes of random (so
// incompressible) data, STORED, generated and hashed as a stream.
func writeBigWheel(t testing.TB, dir, name, version string, payload int64) bigWheel {
	t.Helper()
	w := bigWheel{path: filepath.Join(dir, name+"-"+version+"-py3-none-any.whl"), name: name, version: version}
	f, err := os.Create(w.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fileHash := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, fileHash), 1<<20)
	zw := disttest.NewZipWriter(bw)
	var record strings.Builder
	add := func(member string, method uint16, write func(io.Writer) error) {
		// The writer calls write twice (to measure, then to store): the
		// hash of the last call is the member's.
		h := sha256.New()
		var cw *countWriter
		if err := zw.Add(member, method, func(w io.Writer) error {
			h.Reset()
			cw = &countWriter{w: io.MultiWriter(w, h)}
			return write(cw)
		}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", member, base64.RawURLEncoding.EncodeToString(h.Sum(nil)), cw.n)
	}
	text := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	distInfo := name + "-" + version + ".dist-info/"
	add(name+"/__init__.py", zip.Deflate, text("\"\"\"A big wheel for cheeseshop's crash test.\"\"\"\n"))
	add(name+"/payload.bin", zip.Store, func(w io.Writer) error {
		rng := rand.NewChaCha8([32]byte{'c', 'h', 'e', 'e', 's', 'e'})
		buf := make([]byte, 1<<20)
		for left := payload; left > 0; {
			n := min(left, int64(len(buf)))
			rng.Read(buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			left -= n
		}
		return nil
	})
	add(distInfo+"METADATA", zip.Deflate, text("Metadata-Version: 2.1\nName: "+name+"\nVersion: "+version+"\nSummary: A big wheel\n"))
	add(distInfo+"WHEEL", zip.Deflate, text("Wheel-Version: 1.0\nGenerator: cheeseshop-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
	record.WriteString(distInfo + "RECORD,,\n")
	if err := zw.AddBytes(distInfo+"RECORD", zip.Deflate, []byte(record.String())); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	w.size = fi.Size()
	w.sha256 = hex.EncodeToString(fileHash.Sum(nil))
	t.Logf("wrote %s: %d bytes, sha256 %s", filepath.Base(w.path), w.size, w.sha256)
	return w
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// pace holds an upload's content back: each receive on more lets chunk
// more bytes go; closing abort stops the writer.
type pace struct {
	chunk int64
	more  chan struct{}
	abort chan struct{}
}

// uploadResult is how an upload ended: its status line, or its error.
type uploadResult struct {
	status string
	err    error
}

// startPacedUpload starts uploading w in the background, paced: each
// receive on the pace's more lets chunk more bytes go. The pace is
// aborted when the test ends; how the upload ended comes on the channel.
func startPacedUpload(t testing.TB, baseURL, token string, w bigWheel, chunk int64) (*pace, <-chan uploadResult) {
	p := &pace{chunk: chunk, more: make(chan struct{}), abort: make(chan struct{})}
	t.Cleanup(func() { close(p.abort) })
	done := make(chan uploadResult, 1)
	go func() {
		status, err := uploadWheel(baseURL, token, w, p)
		done <- uploadResult{status, err}
	}()
	return p, done
}

// uploadWheel POSTs a wheel to /legacy/ as twine does (form fields first,
// then the content), streaming the body through an io.Pipe, paced by p
// (nil: full speed). It returns the response's status line.
func uploadWheel(baseURL, token string, w bigWheel, p *pace) (string, error) {
	const boundary = "cheeseshop-e2e-boundary-7d1b3c"
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.SetBoundary(boundary)
	for _, kv := range [][2]string{{":action", "file_upload"}, {"protocol_version", "1"}, {"metadata_version", "2.1"},
		{"name", w.name}, {"version", w.version}, {"filetype", "bdist_wheel"}, {"pyversion", "py3"},
		{"summary", "A big wheel"}, {"sha256_digest", w.sha256}} {
		mw.WriteField(kv[0], kv[1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="content"; filename="`+filepath.Base(w.path)+`"`)
	h.Set("Content-Type", "application/octet-stream")
	mw.CreatePart(h)
	tail := "\r\n--" + boundary + "--\r\n"

	f, err := os.Open(w.path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	go func() {
		if _, err := pw.Write(head.Bytes()); err != nil {
			pw.CloseWithError(err)
			return
		}
		for {
			if p != nil {
				select {
				case <-p.more:
				case <-p.abort:
					pw.CloseWithError(errors.New("upload aborted"))
					return
				}
			}
			chunk := int64(8 << 20)
			if p != nil {
				chunk = p.chunk
			}
			n, err := io.CopyN(pw, f, chunk)
			if errors.Is(err, io.EOF) || (err == nil && n < chunk) {
				break
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		if _, err := io.WriteString(pw, tail); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, baseURL+"/legacy/", pr)
	if err != nil {
		return "", err
	}
	req.ContentLength = int64(head.Len()) + w.size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("__token__", token)
	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.Status, nil
}
