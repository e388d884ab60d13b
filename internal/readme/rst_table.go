package readme

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// maxTableWork bounds the characters examined while finding the cells of
// all grid tables together.
const maxTableWork = 8 << 20

// gridTable reads a grid table at lines[*i]: cells drawn with + - = |,
// which may span rows and columns.
func (p *rstParser) gridTable(lines []string, i *int, lineno, depth int) *block {
	ln := lineno + *i
	j := *i
	for j < len(lines) && lines[j] != "" && (lines[j][0] == '+' || lines[j][0] == '|') {
		j++
	}
	raw := lines[*i:j]
	*i = j
	g := make([][]rune, len(raw))
	w := -1
	for k, l := range raw {
		g[k] = []rune(l)
		if w < 0 {
			w = len(g[k])
		}
		if len(g[k]) != w || (g[k][w-1] != '+' && g[k][w-1] != '|') {
			p.d.fail(ln, "Malformed table.")
			return nil
		}
	}
	head := -1
	for k := 1; k < len(g)-1; k++ {
		if g[k][0] == '+' && strings.Trim(string(g[k]), "+=") == "" {
			if head >= 0 {
				p.d.fail(ln, "Malformed table.\nMultiple head/body row separators (table lines %d and %d); only one allowed.", head+1, k+1)
				return nil
			}
			head = k
		}
	}
	type rect struct{ top, left, bottom, right int }
	var rects []rect
	// As docutils' GridTableParser: corners are tried top to bottom, left
	// to right; a corner inside a cell already found (done holds, for each
	// text column, the last line seen) is skipped, and so is one where no
	// cell starts (on the top edge of a cell spanning columns, say); the
	// cells must then cover the table.
	done := make([]int, w)
	for k := range done {
		done[k] = -1
	}
	corners := [][2]int{{0, 0}}
	addCorner := func(c [2]int) {
		k, found := slices.BinarySearchFunc(corners, c, func(a, b [2]int) int {
			return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
		})
		if !found {
			corners = slices.Insert(corners, k, c)
		}
	}
	bottom, right := len(g)-1, w-1
	covered := 0
	at := func(r, c int) rune { return g[r][c] }
	for len(corners) > 0 {
		c := corners[0]
		corners = corners[1:]
		top, left := c[0], c[1]
		if top >= bottom || left >= right || top <= done[left] {
			continue
		}
		found := false
		// Along the top edge, each corner may be the cell's top right.
		for r := left + 1; r <= right && !found; r++ {
			p.d.work++
			ch := at(top, r)
			if ch != '+' {
				if ch != '-' && ch != '=' {
					break
				}
				continue
			}
			// Down the right edge, each corner may be the bottom right.
			for b := top + 1; b <= bottom && !found; b++ {
				p.d.work++
				ch := at(b, r)
				if ch != '+' {
					if ch != '|' {
						break
					}
					continue
				}
				// Along the bottom edge back to the left, then up.
				ok := true
				for x := r - 1; x > left && ok; x-- {
					p.d.work++
					ch := at(b, x)
					ok = ch == '-' || ch == '=' || ch == '+'
				}
				ok = ok && at(b, left) == '+'
				for y := b - 1; y > top && ok; y-- {
					p.d.work++
					ch := at(y, left)
					ok = ch == '|' || ch == '+'
				}
				if ok {
					rects = append(rects, rect{top, left, b, r})
					covered += (b - top) * (r - left)
					for col := left; col < r; col++ {
						done[col] = b - 1
					}
					addCorner([2]int{top, r})
					addCorner([2]int{b, left})
					found = true
				}
			}
		}
		if p.d.work > maxRSTWork+maxTableWork {
			panic(errTooDeep{})
		}
	}
	if covered != bottom*right {
		p.d.fail(ln, "Malformed table.")
		return nil
	}
	// Rows and columns are the distinct top and left edges.
	rowAt, colAt := map[int]int{}, map[int]int{}
	var tops, lefts []int
	for _, r := range rects {
		if _, ok := rowAt[r.top]; !ok {
			rowAt[r.top] = 0
			tops = append(tops, r.top)
		}
		if _, ok := colAt[r.left]; !ok {
			colAt[r.left] = 0
			lefts = append(lefts, r.left)
		}
	}
	sort.Ints(tops)
	sort.Ints(lefts)
	for k, v := range tops {
		rowAt[v] = k
	}
	for k, v := range lefts {
		colAt[v] = k
	}
	edgeIndex := func(edges []int, v, end int) int {
		k := sort.SearchInts(edges, v)
		if k == len(edges) || edges[k] != v {
			if v == end {
				return len(edges)
			}
			return k
		}
		return k
	}
	t := &block{kind: kTable, line: ln}
	t.rows = make([][]*cell, len(tops))
	sort.SliceStable(rects, func(a, b int) bool {
		if rects[a].top != rects[b].top {
			return rects[a].top < rects[b].top
		}
		return rects[a].left < rects[b].left
	})
	for _, r := range rects {
		var text []string
		for y := r.top + 1; y < r.bottom; y++ {
			text = append(text, strings.TrimRight(string(g[y][r.left+1:r.right]), " "))
		}
		row := rowAt[r.top]
		c := &cell{
			colspan: edgeIndex(lefts, r.right, right) - colAt[r.left],
			rowspan: edgeIndex(tops, r.bottom, bottom) - row,
		}
		c.body = p.body(dedent(text), ln+r.top+1, depth+1)
		t.rows[row] = append(t.rows[row], c)
		if head >= 0 && r.bottom <= head {
			t.headRows = max(t.headRows, edgeIndex(tops, r.bottom, bottom))
		}
	}
	return t
}

// simpleTable reads a simple table at lines[*i]: columns marked by runs of
// "=" in its borders.
func (p *rstParser) simpleTable(lines []string, i *int, lineno, depth int) *block {
	ln := lineno + *i
	top := lines[*i]
	// The columns: the runs of "=" in the top border.
	type col struct{ start, end int }
	var cols []col
	for k := 0; k < len(top); {
		if top[k] != '=' {
			k++
			continue
		}
		s := k
		for k < len(top) && top[k] == '=' {
			k++
		}
		cols = append(cols, col{s, k})
	}
	// The table ends at its third border, or at the second followed by
	// a blank line or the end.
	end, head := -1, -1
	for j := *i + 1; j < len(lines); j++ {
		if !simpleTopRE.MatchString(lines[j]) {
			continue
		}
		if len(lines[j]) != len(top) {
			p.d.fail(lineno+j, "Malformed table.\nBottom/header table border does not match top border.")
			*i = len(lines)
			return nil
		}
		if head >= 0 || j+1 >= len(lines) || lines[j+1] == "" {
			end = j
			break
		}
		head = j
	}
	if end < 0 && head >= 0 {
		// The last border found ends the table (what follows it is not
		// blank: the caller says so).
		end, head = head, -1
	}
	if end < 0 {
		p.d.fail(ln, "Malformed table.\nNo bottom table border found.")
		*i = len(lines)
		return nil
	}
	body := lines[*i+1 : end]
	*i = end + 1
	t := &block{kind: kTable, line: ln}
	var rowText [][]string // per row, per column, the lines
	var rowLine []int
	var rowSpans [][]int // per row, the columns each cell spans (nil: one each)
	headRows := 0
	for k, l := range body {
		if *i-len(body)-1+k == head {
			headRows = len(rowText)
			continue
		}
		if l == "" {
			continue
		}
		if simpleTopRE.MatchString(l) || strings.Trim(l, "- ") == "" {
			continue // a column span underline, read with the row above it
		}
		r := []rune(l)
		// A row underlined with runs of "-" has cells spanning columns.
		if k+1 < len(body) && body[k+1] != "" && strings.Trim(body[k+1], "- ") == "" && *i-len(body)+k != head {
			var texts []string
			var spans []int
			u := body[k+1]
			for a := 0; a < len(u); {
				if u[a] != '-' {
					a++
					continue
				}
				b := a
				for b < len(u) && u[b] == '-' {
					b++
				}
				n := 0
				for _, cl := range cols {
					if cl.start >= a && cl.start < b {
						n++
					}
				}
				end := len(r)
				if c := strings.IndexByte(u[b:], '-'); c >= 0 {
					end = min(b+c, len(r))
				}
				texts = append(texts, strings.TrimRight(string(r[min(a, len(r)):max(end, min(a, len(r)))]), " "))
				spans = append(spans, max(n, 1))
				a = b
			}
			rowText = append(rowText, texts)
			rowSpans = append(rowSpans, spans)
			rowLine = append(rowLine, ln+k+1)
			continue
		}
		cells := make([]string, len(cols))
		for c, cl := range cols {
			s := min(cl.start, len(r))
			e := min(cl.end, len(r))
			if c == len(cols)-1 {
				e = len(r)
			} else if c+1 < len(cols) {
				// Text in the margin between columns.
				gapEnd := min(cols[c+1].start, len(r))
				if e < gapEnd && strings.TrimSpace(string(r[e:gapEnd])) != "" {
					p.d.fail(ln+k+1, "Malformed table.\nText in column margin in table line %d.", k+2)
					return nil
				}
			}
			cells[c] = strings.TrimRight(string(r[s:e]), " ")
		}
		if len(rowText) > 0 && strings.TrimSpace(cells[0]) == "" && headRows != len(rowText) && len(rowText[len(rowText)-1]) == len(cells) {
			prev := rowText[len(rowText)-1]
			for c := range cells {
				prev[c] += "\n" + cells[c]
			}
			continue
		}
		cellLines := make([]string, len(cells))
		copy(cellLines, cells)
		rowText = append(rowText, cellLines)
		rowSpans = append(rowSpans, nil)
		rowLine = append(rowLine, ln+k+1)
	}
	for r, row := range rowText {
		var cs []*cell
		for c, text := range row {
			span := 1
			if rowSpans[r] != nil {
				span = rowSpans[r][c]
			}
			cs = append(cs, &cell{colspan: span, rowspan: 1, body: p.body(dedent(strings.Split(text, "\n")), rowLine[r], depth+1)})
		}
		t.rows = append(t.rows, cs)
	}
	if head >= 0 {
		t.headRows = headRows
	}
	return t
}
