package lookalike

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strconv"
	"strings"

	"cheeseshop/internal/pep"
)

// ReadTSV reads protected names from a tab-separated file, plain or gzip
// (told by its magic bytes). The header names the columns: "name" is
// required; the first column whose header contains "rank" gives ranks
// (1 is the most popular), and the rows with an empty rank are skipped.
// Without a rank column, rows are taken as ordered most popular first and
// ranked by their position. Only the rows ranked 1..top are kept (top 0:
// all ranked rows). Source is "imported".
func ReadTSV(r io.Reader, top int) ([]Protected, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("protected names: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("protected names: %w", err)
		}
		return nil, fmt.Errorf("protected names: empty file: want a header line with a %q column", "name")
	}
	nameCol, rankCol := -1, -1
	for i, h := range strings.Split(strings.TrimRight(sc.Text(), "\r"), "\t") {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "name" && nameCol < 0:
			nameCol = i
		case strings.Contains(h, "rank") && rankCol < 0:
			rankCol = i
		}
	}
	if nameCol < 0 {
		return nil, fmt.Errorf("protected names: the header names no %q column (tab-separated)", "name")
	}
	var out []Protected
	line := 1
	for sc.Scan() {
		line++
		row := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(row)) == 0 {
			continue
		}
		cols := strings.Split(string(row), "\t")
		if nameCol >= len(cols) {
			return nil, fmt.Errorf("protected names: line %d: no %q column", line, "name")
		}
		name := strings.TrimSpace(cols[nameCol])
		if !pep.ValidProjectName(name) {
			return nil, fmt.Errorf("protected names: line %d: invalid project name %q", line, name)
		}
		rank := len(out) + 1
		if rankCol >= 0 {
			field := ""
			if rankCol < len(cols) {
				field = strings.TrimSpace(cols[rankCol])
			}
			if field == "" {
				continue
			}
			var err error
			if rank, err = strconv.Atoi(field); err != nil || rank < 1 {
				return nil, fmt.Errorf("protected names: line %d: bad rank %q (want a positive integer)", line, field)
			}
		}
		if top > 0 && rank > top {
			if rankCol < 0 {
				break
			}
			continue
		}
		out = append(out, Protected{Name: pep.NormalizeName(name), Rank: rank, Source: "imported"})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("protected names: line %d: %w", line+1, err)
	}
	return out, nil
}
