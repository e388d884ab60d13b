package downloads

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// Hit is one request read from an access log.
type Hit struct {
	// Time is when the request was logged, in UTC.
	Time time.Time
	// Method is the request's method; "" when the log does not say (a
	// JSON line without "method"), which counts as GET.
	Method string
	// Status is the response's status; 0 when the log does not say (a
	// JSON line without "status"), which counts as 200.
	Status int
	// Project is the project the log names (JSON "project"), as written;
	// "" when it names none and the file tells.
	Project string
	// Filename is the last segment of the path of the URL requested,
	// without query string and percent-decoded, or the JSON "filename";
	// "" when there is none (or it cannot be decoded).
	Filename string
	// Addr is the client's address as the log writes it ($remote_addr,
	// JSON "remote_addr"); "" when the log does not say.
	Addr string
	// Agent is the kind of the client's User-Agent ($http_user_agent,
	// JSON "user_agent"); NoUserAgent when the line has none (the
	// "common" format, a JSON line without "user_agent"). Only the kind is
	// kept: a user agent string per line would cost more than the rest of
	// the line.
	Agent UserAgentKind
}

// ParseLine parses one line of an access log, with or without its line
// end: a line whose first non-blank byte is '{' is a JSON object
// (ParseJSON), any other nginx's combined format (ParseCombined).
func ParseLine(line []byte) (Hit, error) {
	for _, c := range line {
		if c == '{' {
			return ParseJSON(line)
		}
		if c != ' ' && c != '\t' {
			break
		}
	}
	return ParseCombined(line)
}

// accessTrimEOL removes a line end ("\n" or "\r\n").
func accessTrimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// ParseCombined parses a line in nginx's default "combined" format:
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
//
// with $time_local like 24/Nov/2026:10:01:02 +0100. The referrer and
// the user agent are optional, so the "common" format (without them)
// parses too, and what follows them is not read, so formats that append
// fields parse too. Escapes in the request (nginx writes \xHH, Apache
// \" and \\) are decoded. A line whose request is not "METHOD TARGET
// [PROTOCOL]" (a TLS handshake sent to a plain port, say) parses, with
// that method and no file: it is a request, just not a download.
func ParseCombined(line []byte) (Hit, error) {
	line = accessTrimEOL(line)
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return Hit{}, errors.New("not an access log line: no client address")
	}
	rest := line[sp+1:]
	i := bytes.Index(rest, []byte(" ["))
	if i <= 0 {
		return Hit{}, errors.New("no [time] after the client address and user")
	}
	rest = rest[i+2:]
	if len(rest) < 27 || rest[26] != ']' {
		return Hit{}, errors.New("time not like [24/Nov/2026:10:01:02 +0100]")
	}
	t, ok := accessParseTime(rest[:26])
	if !ok {
		return Hit{}, fmt.Errorf("bad time %q (want 24/Nov/2026:10:01:02 +0100)", rest[:26])
	}
	rest = rest[27:]
	if len(rest) < 2 || rest[0] != ' ' || rest[1] != '"' {
		return Hit{}, errors.New(`no "request" after the time`)
	}
	rest = rest[2:]
	end, escaped := -1, false
	for j := 0; j < len(rest); j++ {
		if rest[j] == '\\' {
			escaped = true
			j++
			continue
		}
		if rest[j] == '"' {
			end = j
			break
		}
	}
	if end < 0 {
		return Hit{}, errors.New("the request has no closing quote")
	}
	req := rest[:end]
	rest = rest[end+1:]
	// " 200 1234" then the end or a space.
	if len(rest) < 6 || rest[0] != ' ' || rest[4] != ' ' {
		return Hit{}, errors.New("no status and size after the request")
	}
	status := 0
	for _, c := range rest[1:4] {
		if c < '0' || c > '9' {
			return Hit{}, fmt.Errorf("bad status %q", rest[1:4])
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return Hit{}, fmt.Errorf("bad status %q", rest[1:4])
	}
	rest = rest[5:]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 && rest[0] == '-' {
		n = 1
	}
	if n == 0 || (n < len(rest) && rest[n] != ' ') {
		return Hit{}, errors.New("bad size after the status")
	}
	if escaped {
		req = accessUnescape(req)
	}
	h := Hit{Time: t, Status: status}
	if addr := line[:sp]; string(addr) != "-" {
		h.Addr = string(addr)
	}
	// ` "referrer" "user agent"`, when the format has them.
	if _, tail, ok := accessQuoted(rest[n:]); ok {
		if ua, _, ok := accessQuoted(tail); ok {
			h.Agent = KindOf(ua) // escapes do not matter: names are not escaped
		}
	}
	method, target, _ := bytes.Cut(req, []byte(" "))
	h.Method = accessMethod(method)
	target, _, _ = bytes.Cut(target, []byte(" "))
	h.Filename = accessFilename(target)
	return h, nil
}

// accessQuoted reads a space then a quoted field at the start of b, and
// returns the field as written (escapes included) and what follows; false
// when b does not start so.
func accessQuoted(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 3 || b[0] != ' ' || b[1] != '"' {
		return nil, b, false
	}
	b = b[2:]
	// The first quote not escaped: preceded by an even number of
	// backslashes.
	for from := 0; ; {
		q := bytes.IndexByte(b[from:], '"')
		if q < 0 {
			return nil, b, false
		}
		q += from
		n := 0
		for n < q && b[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return b[:q], b[q+1:], true
		}
		from = q + 1
	}
}

// accessMethod returns the method as a string, without allocating for
// the usual ones.
func accessMethod(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "":
		return "-"
	}
	return string(m)
}

// accessFilename returns the last segment of a URL's path (an absolute
// URL or a path, with an optional query string or fragment),
// percent-decoded; "" when it cannot be decoded.
func accessFilename(target []byte) string {
	if i := bytes.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	if i := bytes.LastIndexByte(target, '/'); i >= 0 {
		target = target[i+1:]
	}
	if bytes.IndexByte(target, '%') < 0 {
		return string(target)
	}
	s, err := url.PathUnescape(string(target))
	if err != nil || strings.Contains(s, "/") {
		return ""
	}
	return s
}

// accessUnescape decodes the escapes of a quoted log field: \xHH (nginx),
// \" and \\ (Apache); any other backslash stays.
func accessUnescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		switch n := b[i+1]; {
		case n == '"' || n == '\\':
			out = append(out, n)
			i++
		case n == 'x' && i+3 < len(b) && accessHex(b[i+2]) >= 0 && accessHex(b[i+3]) >= 0:
			out = append(out, byte(accessHex(b[i+2])<<4|accessHex(b[i+3])))
			i += 3
		default:
			out = append(out, c)
		}
	}
	return out
}

func accessHex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// accessParseTime parses nginx's $time_local, 24/Nov/2026:10:01:02 +0100,
// by hand: time.Parse costs more than the rest of the line.
func accessParseTime(b []byte) (time.Time, bool) {
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' ||
		(b[21] != '+' && b[21] != '-') {
		return time.Time{}, false
	}
	num := func(s []byte) int {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	month := 0
	switch string(b[3:6]) {
	case "Jan":
		month = 1
	case "Feb":
		month = 2
	case "Mar":
		month = 3
	case "Apr":
		month = 4
	case "May":
		month = 5
	case "Jun":
		month = 6
	case "Jul":
		month = 7
	case "Aug":
		month = 8
	case "Sep":
		month = 9
	case "Oct":
		month = 10
	case "Nov":
		month = 11
	case "Dec":
		month = 12
	default:
		return time.Time{}, false
	}
	day, year, hh, mm, ss := num(b[0:2]), num(b[7:11]), num(b[12:14]), num(b[15:17]), num(b[18:20])
	zh, zm := num(b[22:24]), num(b[24:26])
	if year < 1 || day < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59 || zh < 0 || zh > 23 || zm < 0 || zm > 59 {
		return time.Time{}, false
	}
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}
	off := int64(zh*3600 + zm*60)
	if b[21] == '-' {
		off = -off
	}
	sec := time.Date(year, time.Month(month), day, hh, mm, ss, 0, time.UTC).Unix() - off
	if sec < accessMinUnix || sec > accessMaxUnix {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), true
}

// accessJSON is a JSON line.
type accessJSON struct {
	Timestamp json.RawMessage `json:"timestamp"`
	Project   *string         `json:"project"`
	URL       *string         `json:"url"`
	Filename  *string         `json:"filename"`
	Status    json.RawMessage `json:"status"`
	Method    *string         `json:"method"`
	Addr      *string         `json:"remote_addr"`
	UserAgent *string         `json:"user_agent"`
}

// The range of times a log may hold, as unix seconds: the years 1 to
// 9999, as RFC 3339.
const (
	accessMinUnix = -62135596800 // 0001-01-01T00:00:00Z
	accessMaxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// ParseJSON parses a JSON line: an object with "timestamp" (RFC 3339, or
// unix seconds as a number), the file as "filename" or "url" (the last
// segment of its path), and optionally "project", "status" (a number, or
// digits in a string), "method", "remote_addr" and "user_agent". Other
// fields are not read.
func ParseJSON(line []byte) (Hit, error) {
	var j accessJSON
	if err := json.Unmarshal(line, &j); err != nil {
		return Hit{}, fmt.Errorf("bad JSON: %w", err)
	}
	var h Hit
	ts := bytes.TrimSpace(j.Timestamp)
	switch {
	case len(ts) == 0 || string(ts) == "null":
		return Hit{}, errors.New(`no "timestamp"`)
	case ts[0] == '"':
		var s string
		if err := json.Unmarshal(ts, &s); err != nil {
			return Hit{}, fmt.Errorf(`bad "timestamp": %w`, err)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return Hit{}, fmt.Errorf(`"timestamp" %q is not RFC 3339 (2026-11-24T10:01:02Z)`, s)
		}
		h.Time = t.UTC()
	default:
		f, err := strconv.ParseFloat(string(ts), 64)
		if err != nil {
			return Hit{}, fmt.Errorf(`"timestamp" %.40s is neither RFC 3339 nor unix seconds`, ts)
		}
		if f < float64(accessMinUnix) || f > float64(accessMaxUnix) {
			return Hit{}, fmt.Errorf(`"timestamp" %.40s is out of range`, ts)
		}
		if n, err := strconv.ParseInt(string(ts), 10, 64); err == nil {
			h.Time = time.Unix(n, 0).UTC()
		} else {
			sec := int64(f)
			if float64(sec) > f { // floor of a negative number
				sec--
			}
			h.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
		}
	}
	if y := h.Time.Year(); y < 1 || y > 9999 {
		return Hit{}, errors.New(`"timestamp" is out of range`)
	}
	switch {
	case j.Filename != nil && *j.Filename != "":
		h.Filename = *j.Filename
		if i := strings.LastIndexByte(h.Filename, '/'); i >= 0 {
			h.Filename = h.Filename[i+1:]
		}
	case j.URL != nil && *j.URL != "":
		h.Filename = accessFilename([]byte(*j.URL))
	default:
		return Hit{}, errors.New(`no "filename" nor "url"`)
	}
	if j.Project != nil {
		h.Project = *j.Project
	}
	if j.Method != nil {
		h.Method = *j.Method
		if h.Method == "" {
			h.Method = "-"
		}
	}
	if j.Addr != nil && *j.Addr != "-" {
		h.Addr = *j.Addr
	}
	if j.UserAgent != nil {
		h.Agent = KindOf(*j.UserAgent)
	}
	if st := bytes.TrimSpace(j.Status); len(st) > 0 && string(st) != "null" {
		if st[0] == '"' {
			st = bytes.Trim(st, `"`)
		}
		n, err := strconv.Atoi(string(st))
		if err != nil || n < 100 || n > 999 {
			return Hit{}, fmt.Errorf(`bad "status" %.20s`, j.Status)
		}
		h.Status = n
	}
	return h, nil
}

// Why a line is not counted; the keys of ImportResult.Ignored.
const (
	accessNotGET      = "not GET"
	accessNotOK       = "not status 200"
	accessNotDist     = "not a distribution file"
	accessUnknownFile = "file unknown to the index"
	accessUnknownProj = "project unknown to the index"
	accessOtherProj   = "file of another project"
	accessAgent       = "user agent not counted"
	accessLimit       = "over the limit per address"
)

// accessIsDist reports whether a file name has the extension of a
// distribution, old ones included (a PEP 658 ".metadata" file has not);
// the index says whether it knows the file.
func accessIsDist(name string) bool {
	for _, ext := range [...]string{".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar", ".egg"} {
		if len(name) > len(ext) && strings.EqualFold(name[len(name)-len(ext):], ext) {
			return true
		}
	}
	return false
}

// Importer imports access logs of a proxy or a CDN in front of the index
// into the download counts.
type Importer struct {
	Store *store.Store
	// Log receives warnings; nil discards them.
	Log *slog.Logger
	// Policy says which lines count. Its per-address limit holds across
	// imports: the lines seen per client address, project and day are
	// kept in the store (download_seen, as keyed hashes) for
	// SeenKeepDays. Lines without an address are not limited.
	// Policy.MaxAddresses is not used: an import remembers every address
	// of its file.
	Policy Policy
}

// SeenKeepDays is how long the store keeps the lines seen per client
// address, project and day for the per-address limit of imports: a log
// of an older day imported again after that is limited within its own
// file only.
const SeenKeepDays = 400

// ImportOptions tunes one import.
type ImportOptions struct {
	// Name is recorded with the import; "" records the path.
	Name string
	// Progress, when set, is called as the file is read, with the
	// position in the file on disk (compressed, if it is) and its size.
	Progress func(pos, size int64)
	// Now is the clock of the record; nil is time.Now.
	Now func() time.Time
}

// ImportResult says what an import did.
type ImportResult struct {
	// Name is the file's recorded name.
	Name string
	// Compressed is set when the file is gzip-compressed.
	Compressed bool
	// Size is the number of bytes of complete lines in the file
	// (decompressed), Partial that of a last line without a newline yet,
	// which is not imported (until it is complete).
	Size, Partial int64
	// SkippedLines and SkippedBytes are the lines at the start of the
	// file that earlier imports counted.
	SkippedLines, SkippedBytes int64
	// Lines is the number of lines read: Counted as downloads, Ignored
	// (not a successful download of a file of the index) and Bad
	// (unreadable).
	Lines, Counted, Ignored, Bad int64
	// IgnoredBy counts the ignored lines by reason.
	IgnoredBy map[string]int64
	// BadLines describes the first few bad lines: "line N: reason".
	BadLines []string
	// Projects and Days are the number of projects and of days whose
	// counts changed.
	Projects, Days int
	// Record is the import recorded; nil when there was nothing new.
	Record *store.DownloadImport
}

// accessMaxBadShown bounds ImportResult.BadLines.
const accessMaxBadShown = 5

// accessMaxLine is the longest line parsed (a longer one is bad).
const accessMaxLine = 64 << 10

// accessMaxAttempts bounds how often an import starts over because
// another import of the same log committed meanwhile.
const accessMaxAttempts = 5

// accessRaceError says that an import of the same log committed while
// this one was counting: its offset may be wrong, so it starts over.
type accessRaceError struct{}

func (accessRaceError) Error() string {
	return "another import of the same log committed meanwhile"
}

// Import imports the access log at path: every complete line (ending in
// a newline) that no earlier import counted is parsed, and the
// successful GETs of files of the index are added to their project's
// downloads on the UTC day of the request. Other lines are counted as
// ignored, or as bad when they cannot be parsed; neither fails the
// import. A gzip-compressed file (by its magic bytes) is read
// decompressed.
//
// Imports are idempotent: each records the SHA-256 of the log's first
// line (its head), and the length and SHA-256 of the bytes it covers
// (from the start of the file); a later import of a log with the same
// head skips the longest recorded prefix whose SHA-256 still matches, so
// the same log imported again counts nothing, and a log that grew counts
// only its new lines. The counts and the record are written in one
// transaction: an import that fails writes nothing.
func (im *Importer) Import(ctx context.Context, path string, opts ImportOptions) (*ImportResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := im.importOnce(ctx, path, opts)
		if !errors.As(err, new(accessRaceError)) {
			return res, err
		}
		if attempt == accessMaxAttempts {
			return nil, fmt.Errorf("import %s: gave up after %d attempts: %w", path, attempt, err)
		}
		im.logger().Info("import started over", "file", path, "reason", err.Error())
	}
}

func (im *Importer) logger() *slog.Logger {
	if im.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return im.Log
}

// accessKey is a project's day.
type accessKey struct {
	project int64
	day     store.Day
}

// accessSeenKey is a client's downloads of a project on a day.
type accessSeenKey struct {
	client  clientKey
	project int64
	day     store.Day
}

// accessRun is one attempt at importing a file.
type accessRun struct {
	im       *Importer
	path     string
	opts     ImportOptions
	res      *ImportResult
	files    map[string]int64 // filename → project id; 0: unknown
	projects map[string]int64 // normalized name → id; 0: unknown
	counts   map[accessKey]int64
	// seen holds the downloads from a known client address when the
	// policy limits them: they are counted at the end, against what
	// earlier imports saw.
	seen map[accessSeenKey]int64
}

// accessSource is a log file opened for reading from its start.
type accessSource struct {
	f    *os.File
	gz   *gzip.Reader
	scan *accessScanner
}

func (s *accessSource) Close() error {
	if s.gz != nil {
		s.gz.Close()
	}
	return s.f.Close()
}

// accessProgress counts the bytes read from the file on disk.
type accessProgress struct {
	r    io.Reader
	pos  int64
	size int64
	fn   func(pos, size int64)
}

func (p *accessProgress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pos += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(p.pos, p.size)
	}
	return n, err
}

// open opens the file and reads it, decompressed, through a scanner.
func (r *accessRun) open() (*accessSource, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", r.path)
	}
	src := &accessSource{f: f}
	counted := &accessProgress{r: f, size: fi.Size(), fn: r.opts.Progress}
	br := bufio.NewReaderSize(counted, accessMaxLine)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: gzip: %w", r.path, err)
		}
		src.gz = gz
		in = gz
		r.res.Compressed = true
	}
	src.scan = &accessScanner{r: bufio.NewReaderSize(in, accessMaxLine), h: sha256.New()}
	return src, nil
}

// accessScanner reads complete lines and hashes them.
type accessScanner struct {
	r     *bufio.Reader
	h     hash.Hash
	pos   int64  // bytes of the complete lines read
	line  []byte // the current line, with its newline; nil if too long
	lines int64  // complete lines read
	// partial is the length of a last line without a newline.
	partial int64
	err     error
}

// next reads the next complete line; false at the end (or on error).
func (s *accessScanner) next() bool {
	b, err := s.r.ReadSlice('\n')
	if err == nil {
		s.h.Write(b)
		s.pos += int64(len(b))
		s.lines++
		s.line = b
		return true
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		// A line too long to parse: hash it on a copy of the hash, which
		// is kept only if the line ends.
		c, cerr := s.h.(hash.Cloner).Clone()
		if cerr != nil {
			s.err = cerr
			return false
		}
		n := int64(len(b))
		c.Write(b)
		for {
			b, err = s.r.ReadSlice('\n')
			c.Write(b)
			n += int64(len(b))
			if err == nil {
				s.h = c
				s.pos += n
				s.lines++
				s.line = nil
				return true
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err == io.EOF {
			s.partial = n
			return false
		}
		s.err = err
		return false
	}
	if err == io.EOF {
		s.partial = int64(len(b))
		return false
	}
	s.err = err
	return false
}

func (r *accessRun) bad(line int64, reason string) {
	r.res.Bad++
	if len(r.res.BadLines) < accessMaxBadShown {
		r.res.BadLines = append(r.res.BadLines, fmt.Sprintf("line %d: %s", line, reason))
	}
}

func (r *accessRun) ignore(reason string) {
	r.res.Ignored++
	r.res.IgnoredBy[reason]++
}

// line parses and counts one line.
func (r *accessRun) line(ctx context.Context, n int64, line []byte) error {
	r.res.Lines++
	if line == nil {
		r.bad(n, fmt.Sprintf("longer than %d KiB", accessMaxLine>>10))
		return nil
	}
	h, err := ParseLine(line)
	if err != nil {
		r.bad(n, err.Error())
		return nil
	}
	switch {
	case h.Method != "" && h.Method != "GET":
		r.ignore(accessNotGET)
		return nil
	case h.Status != 0 && h.Status != 200:
		r.ignore(accessNotOK)
		return nil
	case !accessIsDist(h.Filename):
		r.ignore(accessNotDist)
		return nil
	case !r.im.Policy.Agents.CountsKind(h.Agent):
		r.ignore(accessAgent)
		return nil
	}
	var want int64
	if h.Project != "" {
		name := pep.NormalizeName(h.Project)
		id, ok := r.projects[name]
		if !ok {
			p, err := r.im.Store.ProjectByName(ctx, name)
			switch {
			case err == nil:
				id = p.ID
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			r.projects[name] = id
		}
		if id == 0 {
			r.ignore(accessUnknownProj)
			return nil
		}
		want = id
	}
	id, ok := r.files[h.Filename]
	if !ok {
		f, err := r.im.Store.FileByFilename(ctx, h.Filename)
		switch {
		case err == nil:
			id = f.ProjectID
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		r.files[h.Filename] = id
	}
	switch {
	case id == 0:
		r.ignore(accessUnknownFile)
	case want != 0 && want != id:
		r.ignore(accessOtherProj)
	default:
		day := store.DayOf(h.Time)
		if r.im.Policy.PerAddress > 0 {
			if client, ok := clientOf(h.Addr); ok {
				r.seen[accessSeenKey{client, id, day}]++
				return nil
			}
		}
		r.res.Counted++
		r.counts[accessKey{id, day}]++
	}
	return nil
}

// limit counts the downloads from known client addresses (r.seen) into
// counts, at most Policy.PerAddress per address, project and day
// including the lines that earlier imports saw, and records the lines
// seen. It returns the downloads counted and the lines over the limit.
// The caller holds LockDownloads.
func (r *accessRun) limit(ctx context.Context, tx *store.Tx, secret []byte, today store.Day, counts map[accessKey]int64) (counted, over int64, err error) {
	limit := int64(r.im.Policy.PerAddress)
	keep := today - SeenKeepDays
	if _, err := tx.PruneSeen(ctx, keep); err != nil {
		return 0, 0, err
	}
	type hashed struct {
		day store.Day
		key int64
	}
	type target struct {
		key   accessKey
		lines int64
	}
	mac := hmac.New(sha256.New, secret)
	var sum [sha256.Size]byte
	var buf [8]byte
	byHash := make(map[hashed]*target, len(r.seen))
	var rows []store.SeenCount
	for k, lines := range r.seen {
		ak := accessKey{k.project, k.day}
		if k.day < keep {
			// Too old to be kept: limited within this file only.
			n := min(lines, limit)
			counts[ak] += n
			counted, over = counted+n, over+lines-n
			continue
		}
		mac.Reset()
		if k.client.text != "" {
			mac.Write([]byte{1})
			mac.Write([]byte(k.client.text))
		} else {
			mac.Write([]byte{0})
			mac.Write(k.client.ip[:])
		}
		binary.BigEndian.PutUint64(buf[:], uint64(k.project))
		mac.Write(buf[:])
		h := hashed{k.day, int64(binary.BigEndian.Uint64(mac.Sum(sum[:0])))}
		if t, ok := byHash[h]; ok { // two clients in one 64-bit key: counted as one
			t.lines += lines
			continue
		}
		byHash[h] = &target{ak, lines}
		rows = append(rows, store.SeenCount{Day: h.day, Key: h.key})
	}
	// A stable order: the same rows are always written in the same order.
	slices.SortFunc(rows, func(a, b store.SeenCount) int { return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Key, b.Key)) })
	for i := range rows {
		rows[i].Lines = byHash[hashed{rows[i].Day, rows[i].Key}].lines
	}
	totals, err := tx.AddSeen(ctx, rows)
	if err != nil {
		return 0, 0, err
	}
	for i, t := range totals {
		lines := rows[i].Lines
		n := min(t.Lines, limit) - min(t.Lines-lines, limit)
		counts[byHash[hashed{t.Day, t.Key}].key] += n
		counted, over = counted+n, over+lines-n
	}
	return counted, over, nil
}

// importOnce makes one attempt at importing the file.
func (im *Importer) importOnce(ctx context.Context, path string, opts ImportOptions) (*ImportResult, error) {
	name := opts.Name
	if name == "" {
		name = path
	}
	r := &accessRun{
		im: im, path: path, opts: opts,
		res:      &ImportResult{Name: name, IgnoredBy: map[string]int64{}},
		files:    map[string]int64{},
		projects: map[string]int64{},
		counts:   map[accessKey]int64{},
		seen:     map[accessSeenKey]int64{},
	}
	src, err := r.open()
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	defer func() { src.Close() }()
	sc := src.scan
	if !sc.next() {
		if sc.err != nil {
			return nil, fmt.Errorf("import %s: read: %w", path, sc.err)
		}
		r.res.Partial = sc.partial
		return r.res, nil // empty, or no complete line
	}
	first := sc.h.Sum(nil)
	head := hex.EncodeToString(first)
	prior, err := im.Store.DownloadImportsByHead(ctx, head)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}

	// Find the longest earlier import that this file starts with: read
	// (without parsing) up to the largest recorded size, checking the
	// hash at each recorded size.
	sizes := make([]*store.DownloadImport, len(prior))
	copy(sizes, prior)
	slices.SortFunc(sizes, func(a, b *store.DownloadImport) int { return cmp.Compare(a.Size, b.Size) })
	var skip, skipLines int64
	if len(sizes) > 0 {
		check := func() {
			for len(sizes) > 0 && sizes[0].Size <= sc.pos {
				if sizes[0].Size == sc.pos && hex.EncodeToString(sc.h.Sum(nil)) == sizes[0].SHA256 {
					skip, skipLines = sc.pos, sc.lines
				}
				sizes = sizes[1:]
			}
		}
		check()
		for len(sizes) > 0 && sc.next() {
			check()
			if sc.lines%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("import %s: %w", path, err)
				}
			}
		}
		if sc.err != nil {
			return nil, fmt.Errorf("import %s: read: %w", path, sc.err)
		}
		if skip != sc.pos {
			// The longest match is behind us (or there is none): read
			// again from the start, and parse from there.
			src.Close()
			if src, err = r.open(); err != nil {
				return nil, fmt.Errorf("import %s: open again: %w", path, err)
			}
			sc = src.scan
			for sc.pos < skip && sc.next() {
			}
			if sc.err != nil {
				return nil, fmt.Errorf("import %s: read: %w", path, sc.err)
			}
			if sc.pos != skip {
				return nil, fmt.Errorf("import %s: the file changed while being read", path)
			}
		}
	} else if err := r.line(ctx, 1, sc.line); err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	r.res.SkippedBytes, r.res.SkippedLines = skip, skipLines

	for sc.next() {
		if err := r.line(ctx, sc.lines, sc.line); err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		if sc.lines%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("import %s: %w", path, err)
			}
		}
	}
	if sc.err != nil {
		return nil, fmt.Errorf("import %s: read: %w", path, sc.err)
	}
	r.res.Size, r.res.Partial = sc.pos, sc.partial
	if sc.pos == skip {
		return r.res, nil // nothing new
	}

	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	importedAt := now().UTC()
	var secret []byte
	if len(r.seen) > 0 {
		s, err := im.Store.Secret(ctx, seenSecretName, newSeenSecret, importedAt)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		secret = []byte(s)
	}
	var (
		rec          *store.DownloadImport
		counted      = r.res.Counted
		over         int64
		nProj, nDays int
	)
	err = im.Store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.LockDownloads(ctx); err != nil {
			return err
		}
		again, err := tx.DownloadImportsByHead(ctx, head)
		if err != nil {
			return err
		}
		if !slices.EqualFunc(again, prior, func(a, b *store.DownloadImport) bool { return a.ID == b.ID }) {
			return accessRaceError{}
		}
		// The limited lines count against what earlier imports saw of
		// their addresses: read and written under the downloads lock.
		byDay := maps.Clone(r.counts)
		if len(r.seen) > 0 {
			n, o, err := r.limit(ctx, tx, secret, store.DayOf(importedAt), byDay)
			if err != nil {
				return err
			}
			counted, over = counted+n, o
		}
		counts := make([]store.DownloadCount, 0, len(byDay))
		projects, days := map[int64]bool{}, map[store.Day]bool{}
		for k, n := range byDay {
			if n == 0 {
				continue
			}
			counts = append(counts, store.DownloadCount{ProjectID: k.project, Day: k.day, Downloads: n})
			projects[k.project], days[k.day] = true, true
		}
		slices.SortFunc(counts, func(a, b store.DownloadCount) int {
			return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), cmp.Compare(a.Day, b.Day))
		})
		nProj, nDays = len(projects), len(days)
		kept, err := tx.AddDownloads(ctx, counts)
		if err != nil {
			return err
		}
		if kept < len(counts) {
			im.logger().Warn("downloads of projects deleted meanwhile dropped", "file", path, "dropped", len(counts)-kept)
		}
		rec = &store.DownloadImport{
			Name: name, HeadSHA256: head, SHA256: hex.EncodeToString(sc.h.Sum(nil)), Size: sc.pos,
			Lines: r.res.Lines, Counted: counted, Bad: r.res.Bad, Ignored: r.res.Ignored + over,
			ImportedAt: importedAt,
		}
		return tx.AddDownloadImport(ctx, rec)
	})
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	r.res.Counted, r.res.Projects, r.res.Days = counted, nProj, nDays
	if over > 0 {
		r.res.Ignored += over
		r.res.IgnoredBy[accessLimit] = over
	}
	r.res.Record = rec
	return r.res, nil
}

// seenSecretName names the deployment-wide secret (store.Secret) that
// keys the hashes of client addresses in download_seen.
const seenSecretName = "download-addresses"

// newSeenSecret makes the secret of seenSecretName: 256 random bits.
func newSeenSecret() string {
	return rand.Text() + rand.Text()
}
