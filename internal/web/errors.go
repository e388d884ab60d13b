package web

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// statusOf is the HTTP status of err, the one mapping of the domain's
// error vocabulary (problem.Kind) for every audience: the web UI, the
// management API and the PyPI API. A fault of the machinery (the
// database or the storage down, a full disk) is 503; any other error
// that is not a *problem.Error is a bug: 500.
func statusOf(err error) int {
	switch problem.KindOf(err) {
	case problem.Invalid:
		return http.StatusBadRequest
	case problem.Unauthenticated:
		return http.StatusUnauthorized
	case problem.Forbidden:
		return http.StatusForbidden
	case problem.NotFound:
		return http.StatusNotFound
	case problem.Conflict:
		return http.StatusConflict
	case problem.Gone:
		return http.StatusGone
	case problem.TooManyRequests:
		return http.StatusTooManyRequests
	case problem.Unavailable:
		return http.StatusServiceUnavailable
	case problem.BadGateway:
		return http.StatusBadGateway
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case isFault(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// faultRetryAfter is the Retry-After of a fault without one of its own.
const faultRetryAfter = 30 * time.Second

// fault is a failure of the machinery that may pass, rather than a bug.
type fault struct {
	// cause names it in the log: storage-full, storage-unreachable,
	// storage-refused or database.
	cause string
	// says what it is to clients, within "The index is temporarily
	// unavailable (…)".
	says string
}

// faultOf reports whether err is a fault, and which: the file storage
// full, not answering or refusing the server's credentials (blob), or the
// database unreachable, busy or full (store).
func faultOf(err error) (fault, bool) {
	if reason, ok := blob.FaultReason(err); ok {
		switch reason {
		case blob.Full:
			return fault{"storage-full", "its file storage is full"}, true
		case blob.Refused:
			return fault{"storage-refused", "its file storage refuses the server's credentials"}, true
		}
		return fault{"storage-unreachable", "its file storage is not answering"}, true
	}
	if store.IsUnavailable(err) {
		return fault{"database", "its database is not answering"}, true
	}
	return fault{}, false
}

// isFault reports whether err is a fault of the machinery that may pass
// (faultOf) rather than a bug.
func isFault(err error) bool {
	_, ok := faultOf(err)
	return ok
}

// logFailure logs a failure answered with status, op naming what failed
// ("upload", "ui", ...): a fault as "fault" with its cause, so that the
// operator sees what to mend; any other failure of the server (5xx), a
// bug, as "request failed". Refusals (4xx) are the client's business and
// are not logged.
func (s *Server) logFailure(r *http.Request, op string, status int, err error) {
	if status < 500 {
		return
	}
	if f, ok := faultOf(err); ok {
		s.log.ErrorContext(r.Context(), "fault", "cause", f.cause, "op", op, "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	if e, ok := problem.As(err); ok && (e.Kind == problem.Unavailable || e.Kind == problem.BadGateway) {
		// The domain's own verdict (an upstream down or lying), which it
		// logged where it saw the cause: not a failure of this server.
		s.log.WarnContext(r.Context(), "request refused", "op", op, "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		return
	}
	s.log.ErrorContext(r.Context(), "request failed", "op", op, "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
}

// setRetryAfter tells the client when to try again after a refusal of
// status (429, 503): the refusal's own RetryAfter, or faultRetryAfter;
// and that the answer is not to be stored, so that no shared cache (a
// CDN keeps a 503 for seconds unless told otherwise) answers it to
// others, or after the fault is over.
func setRetryAfter(w http.ResponseWriter, status int, err error) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return
	}
	wait := faultRetryAfter
	if e, ok := problem.As(err); ok && e.RetryAfter > 0 {
		wait = e.RetryAfter
	}
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	h["Cache-Control"] = hdrNoStore
}

// userMessage is what a client is told of err with status: the refusal's
// message (a problem.Unavailable's and BadGateway's too); for a fault, what it is and when
// to retry (twine prints it);
// for an unexpected failure a generic one (its text is for the log, not
// the user).
func userMessage(err error, status int) string {
	switch {
	case status == http.StatusServiceUnavailable && problem.MessageOf(err) == "":
		what := ""
		if f, ok := faultOf(err); ok {
			what = " (" + f.says + ")"
		}
		return fmt.Sprintf("The index is temporarily unavailable%s, retry in %d seconds.", what, int(faultRetryAfter/time.Second))
	case status == http.StatusServiceUnavailable, status == http.StatusBadGateway && problem.MessageOf(err) != "":
		// What is unavailable (an upstream index), or what an upstream
		// sent that was refused.
		return problem.MessageOf(err)
	case status >= 500:
		return "Internal server error: the failure was logged. Try again later or contact the index administrators."
	}
	if msg := problem.MessageOf(err); msg != "" {
		return msg
	}
	return err.Error()
}

// reasonPhrase makes msg safe for an HTTP/1.1 status line: ISO-8859-1,
// no control characters, bounded length.
func reasonPhrase(msg string) string {
	var b strings.Builder
	for _, r := range msg {
		switch {
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		case r > 0xff:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
		if b.Len() > 1024 {
			break
		}
	}
	// The status line is Latin-1 on the wire; WriteRune wrote UTF-8.
	out := make([]byte, 0, b.Len())
	for _, r := range b.String() {
		out = append(out, byte(r))
	}
	return string(out)
}

type errorBody struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Title   string `json:"title"`
}

// apiError answers a client tool (twine, uv, pip) as PyPI does: the
// message in the HTTP status line (`400 <message>`, which twine prints),
// and a JSON body {"message", "code", "title"} (which uv prints).
//
// net/http always writes the standard reason phrase, so on HTTP/1.x the
// response is written on the hijacked connection. Under HTTP/2, which has
// no reason phrases, the JSON body carries the message alone.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if err := bodyTooSlow(r); err != nil {
		// Whatever failed, it failed because the body stalled.
		status = http.StatusRequestTimeout
		msg = "Request Timeout: " + err.Error() + ". Check the network and try again."
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		msg = "Internal server error: the failure was logged. Try again later or contact the index administrators."
	}
	title := http.StatusText(status)
	body, _ := json.Marshal(errorBody{Message: msg, Code: strconv.Itoa(status) + " " + msg, Title: title})
	body = append(body, '\n')
	if r.ProtoMajor == 1 {
		if hj, ok := w.(http.Hijacker); ok {
			if ss, ok := w.(interface{ setStatus(int, int) }); ok {
				ss.setStatus(status, len(body))
			}
			if err := writeRawResponse(hj, r, w.Header(), status, reasonPhrase(msg), body); err == nil {
				return
			} else {
				s.log.WarnContext(r.Context(), "writing an error on the raw connection failed", "err", err)
				return
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Error-Message", reasonPhrase(msg))
	w.WriteHeader(status)
	w.Write(body)
}

// writeRawResponse writes a complete HTTP/1.1 response with a custom
// reason phrase and the headers set so far (the security headers, a
// Retry-After), then closes the connection gracefully: it stops writing,
// and reads (and discards) what the client still sends for a moment, so
// that a client still uploading receives the answer instead of a reset.
func writeRawResponse(hj http.Hijacker, r *http.Request, header http.Header, status int, reason string, body []byte) error {
	extra := header.Clone()
	for _, k := range []string{"Content-Type", "Content-Length", "Cache-Control", "Connection", "Date", "Transfer-Encoding"} {
		extra.Del(k)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return fmt.Errorf("hijack: %w", err)
	}
	var h strings.Builder
	fmt.Fprintf(&h, "HTTP/1.1 %03d %s\r\n", status, reason)
	h.WriteString("Content-Type: application/json\r\n")
	h.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	h.WriteString("Cache-Control: no-store\r\n")
	h.WriteString("Connection: close\r\n")
	extra.Write(&h) // sorted, with line breaks in values made spaces
	h.WriteString("Date: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n\r\n")
	conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := buf.WriteString(h.String()); err != nil {
		conn.Close()
		return err
	}
	if r.Method != http.MethodHead {
		buf.Write(body)
	}
	if err := buf.Flush(); err != nil {
		conn.Close()
		return err
	}
	go lingeringClose(conn, buf.Reader)
	return nil
}

// lingeringClose half-closes conn and drains the client's remaining
// request body (bounded in time and bytes) before closing.
func lingeringClose(conn net.Conn, rd *bufio.Reader) {
	defer conn.Close()
	if tc, ok := conn.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, io.LimitReader(rd, 1<<30))
}

// serverError answers a failure of a read of the PyPI API (a simple page,
// the JSON API, a file) as plain text: 503 with Retry-After for a fault,
// else 500; it logs either. Neither is stored by any cache: these URLs'
// answers are public, and a stored failure would outlive it.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status < 500 {
		status = http.StatusInternalServerError // a read refuses nothing: a refusal here is a bug
	}
	s.logFailure(r, "read", status, err)
	w.Header()["Cache-Control"] = hdrNoStore
	setRetryAfter(w, status, err)
	http.Error(w, userMessage(err, status), status)
}

// pypiFail answers an error of the upload API as apiError does, with its
// status and message, and logs a failure (logFailure). PyPI answers
// missing or bad credentials 403, not 401, and clients (twine, uv) expect
// it: that one difference from statusOf is the protocol's.
func (s *Server) pypiFail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status == http.StatusUnauthorized {
		status = http.StatusForbidden
	}
	s.logFailure(r, "upload", status, err)
	setRetryAfter(w, status, err)
	s.apiError(w, r, status, userMessage(err, status))
}
