package upstream

import "time"

// FileVisible reports whether a proxied file may be listed and served
// under a minimum release age: minAge ≤ 0 and exempt (an administrator's
// break glass for the project) show every file; otherwise the file needs
// an upload time at least minAge before now. A file without an upload
// time is hidden (fail closed: an upstream that gives none, as HTML pages
// do, cannot vouch for a file's age).
func FileVisible(f File, now time.Time, minAge time.Duration, exempt bool) bool {
	if minAge <= 0 || exempt {
		return true
	}
	return !f.UploadTime.IsZero() && !f.UploadTime.After(now.Add(-minAge))
}

// Visible returns the files visible under a minimum release age (see
// FileVisible), in their order. It returns files itself when all are.
func Visible(files []File, now time.Time, minAge time.Duration, exempt bool) []File {
	if minAge <= 0 || exempt {
		return files
	}
	visible := make([]File, 0, len(files))
	for _, f := range files {
		if FileVisible(f, now, minAge, exempt) {
			visible = append(visible, f)
		}
	}
	return visible
}

// NextVisible returns the earliest instant after now at which a file
// hidden by the minimum age becomes visible, zero when none will (every
// file is visible, or the hidden ones have no upload time): the time to
// re-render a page without fetching it.
func NextVisible(files []File, now time.Time, minAge time.Duration, exempt bool) time.Time {
	var next time.Time
	if minAge <= 0 || exempt {
		return next
	}
	for _, f := range files {
		if f.UploadTime.IsZero() || FileVisible(f, now, minAge, exempt) {
			continue
		}
		if at := f.UploadTime.Add(minAge); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}
