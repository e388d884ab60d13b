package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// jsonPage is a PEP 691 project page, as far as it is read.
type jsonPage struct {
	Meta struct {
		APIVersion *string `json:"api-version"`
	} `json:"meta"`
	Name          *string           `json:"name"`
	ProjectStatus json.RawMessage   `json:"project-status"`
	Files         []json.RawMessage `json:"files"`
}

// jsonFile is one entry of files[]; the fields of several types stay raw.
type jsonFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   *string           `json:"requires-python"`
	Yanked           json.RawMessage   `json:"yanked"`
	CoreMetadata     json.RawMessage   `json:"core-metadata"`
	DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
	Size             json.RawMessage   `json:"size"`
	UploadTime       *string           `json:"upload-time"`
}

// ParseJSON reads a PEP 691 project page (api-version 1.x) with the PEP
// 700 (size, upload-time), 592 (yanked), 658/714 (core-metadata) and 792
// (project-status) fields. It refuses a page that is not JSON, has another
// major api-version, names another project or lists more than MaxFiles
// files; it drops any file that is not checkable (see the package
// documentation of the hostile cases) and counts it in Page.Dropped.
func ParseJSON(body []byte, o ParseOptions) (*Page, error) {
	var doc jsonPage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a PEP 691 JSON page: %w", err)
	}
	if doc.Meta.APIVersion == nil {
		return nil, errors.New("no meta.api-version")
	}
	if err := checkAPIVersion(*doc.Meta.APIVersion); err != nil {
		return nil, err
	}
	if len(doc.Files) > MaxFiles {
		return nil, fmt.Errorf("%d files, more than %d", len(doc.Files), MaxFiles)
	}
	b := newBuilder(o, "json")
	if doc.Name == nil {
		return nil, errors.New("no name")
	}
	if err := b.setName(*doc.Name); err != nil {
		return nil, err
	}
	if len(doc.ProjectStatus) > 0 && string(doc.ProjectStatus) != "null" {
		var st struct {
			Status string `json:"status"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(doc.ProjectStatus, &st); err != nil {
			b.warn("project-status is not an object: taken as active")
		}
		b.setStatus(st.Status, st.Reason)
	}
	for _, raw := range doc.Files {
		var jf jsonFile
		if err := json.Unmarshal(raw, &jf); err != nil {
			b.drop(jf.Filename, "malformed entry")
			continue
		}
		b.addJSON(&jf)
	}
	return b.page, nil
}

// checkAPIVersion accepts "1" and "1.x" (PEP 629: a client refuses a major
// version it does not know).
func checkAPIVersion(v string) error {
	major, _, _ := strings.Cut(strings.TrimSpace(v), ".")
	if major != "1" {
		return fmt.Errorf("api-version %q: only 1.x is understood", cut(v, 20))
	}
	return nil
}

// addJSON checks and adds one files[] entry.
func (b *builder) addJSON(jf *jsonFile) {
	u, _, err := b.resolve(b.o.PageURL, jf.URL)
	if err != nil {
		b.drop(jf.Filename, err.Error())
		return
	}
	f := rawFile{filename: jf.Filename, url: u, sha256: jf.Hashes["sha256"], size: -1}
	if jf.RequiresPython != nil {
		f.requiresPython = *jf.RequiresPython
	}
	var ok bool
	if f.yanked, f.yankedReason, ok = jsonYanked(jf.Yanked); !ok {
		b.drop(jf.Filename, "yanked is neither a boolean nor a string")
		return
	}
	meta := jf.CoreMetadata
	if len(meta) == 0 || string(meta) == "null" {
		meta = jf.DistInfoMetadata
	}
	f.metadataSHA256 = jsonMetadataDigest(meta)
	if n, err := strconv.ParseInt(string(jf.Size), 10, 64); err == nil {
		f.size = n
	}
	if jf.UploadTime != nil {
		if t, err := time.Parse(time.RFC3339Nano, *jf.UploadTime); err == nil {
			f.uploadTime = t
		} else {
			b.warn("%s: upload-time %q taken as unknown", cut(jf.Filename, 100), cut(*jf.UploadTime, 40))
		}
	}
	b.add(f)
}

// jsonYanked reads PEP 691's yanked: absent, null or a boolean, or a
// string that is the reason (an empty one still yanks).
func jsonYanked(raw json.RawMessage) (yanked bool, reason string, ok bool) {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "", "null", "false":
		return false, "", true
	case "true":
		return true, "", true
	}
	if err := json.Unmarshal(raw, &reason); err != nil {
		return false, "", false
	}
	return true, reason, true
}

// jsonMetadataDigest returns the sha256 of a core-metadata value: only an
// object with a SHA-256 advertises a metadata file we can verify; true
// alone does not.
func jsonMetadataDigest(raw json.RawMessage) string {
	var hashes map[string]any
	if json.Unmarshal(raw, &hashes) != nil {
		return ""
	}
	s, _ := hashes["sha256"].(string)
	return s
}
