package dist

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// updateConfusion rewrites testdata/confusion from the generators below:
//
//	go test ./internal/dist -run TestConfusionFixtures -update-confusion
var updateConfusion = flag.Bool("update-confusion", false, "rewrite testdata/confusion from its generators")

// zhdr is a zip file header, local or central, with every field explicit
// so that the two can disagree.
type zhdr struct {
	name          string
	flags, method uint16
	crc           uint32
	csize, usize  uint32
	extra         []byte
	offset        uint32 // central only
	comment       string // central only
}

// zmember is a member of a crafted archive: its local header and data,
// and its central directory entry (by default the local header's fields
// and offset).
type zmember struct {
	local     zhdr
	data      []byte
	central   *zhdr // nil: same as local
	noLocal   bool
	noCentral bool
	// after is written right after the data (a data descriptor, say).
	after []byte
}

// stored is an honest STORED member.
func stored(name, body string) zmember {
	b := []byte(body)
	return zmember{local: zhdr{name: name, crc: crc32.ChecksumIEEE(b), csize: uint32(len(b)), usize: uint32(len(b))}, data: b}
}

// zarchive is a crafted archive: members, then the end records.
type zarchive struct {
	prefix  []byte
	members []zmember
	// extraCentral are central entries with no member (duplicates, say).
	extraCentral []zhdr
	// zip64 writes a ZIP64 end record (with ext bytes of extensible data)
	// and a locator (pointing at locatorOff when set) before the end record.
	zip64    bool
	zip64Ext []byte
	// zip64First writes the ZIP64 end record (without locator) before
	// the central directory, where zipfile does not look for it.
	zip64First bool
	locatorOff *uint64
	noLocator  bool
	comment    []byte
	suffix     []byte
	// eocd, when set, edits the end record's fields before it is written.
	eocd func(records *uint16, size, offset *uint32)
	// disk is the end record's disk number.
	disk uint16
}

func (z zarchive) bytes() []byte {
	var b bytes.Buffer
	b.Write(z.prefix)
	le := binary.LittleEndian
	var central []zhdr
	for _, m := range z.members {
		off := uint32(b.Len())
		if !m.noLocal {
			h := m.local
			var fixed [30]byte
			copy(fixed[:], sigLocal)
			le.PutUint16(fixed[4:], 20)
			le.PutUint16(fixed[6:], h.flags)
			le.PutUint16(fixed[8:], h.method)
			le.PutUint32(fixed[14:], h.crc)
			le.PutUint32(fixed[18:], h.csize)
			le.PutUint32(fixed[22:], h.usize)
			le.PutUint16(fixed[26:], uint16(len(h.name)))
			le.PutUint16(fixed[28:], uint16(len(h.extra)))
			b.Write(fixed[:])
			b.WriteString(h.name)
			b.Write(h.extra)
			b.Write(m.data)
			b.Write(m.after)
		}
		if m.noCentral {
			continue
		}
		c := m.local
		c.offset = off
		if m.central != nil {
			c = *m.central
		}
		central = append(central, c)
	}
	central = append(central, z.extraCentral...)
	records := uint16(len(central))
	if z.zip64First {
		b.Write(eocd64Record(uint64(records), 0, 0, z.zip64Ext))
	}
	cdOff := uint32(b.Len())
	for _, h := range central {
		var fixed [46]byte
		copy(fixed[:], sigCentral)
		le.PutUint16(fixed[4:], 20)
		le.PutUint16(fixed[6:], 20)
		le.PutUint16(fixed[8:], h.flags)
		le.PutUint16(fixed[10:], h.method)
		le.PutUint32(fixed[16:], h.crc)
		le.PutUint32(fixed[20:], h.csize)
		le.PutUint32(fixed[24:], h.usize)
		le.PutUint16(fixed[28:], uint16(len(h.name)))
		le.PutUint16(fixed[30:], uint16(len(h.extra)))
		le.PutUint16(fixed[32:], uint16(len(h.comment)))
		le.PutUint32(fixed[42:], h.offset)
		b.Write(fixed[:])
		b.WriteString(h.name)
		b.Write(h.extra)
		b.WriteString(h.comment)
	}
	cdSize := uint32(b.Len()) - cdOff
	if z.zip64 {
		at := uint64(b.Len())
		b.Write(eocd64Record(uint64(records), uint64(cdSize), uint64(cdOff), z.zip64Ext))
		if !z.noLocator {
			if z.locatorOff != nil {
				at = *z.locatorOff
			}
			var l [20]byte
			copy(l[:], sigEOCD64Loc)
			le.PutUint64(l[8:], at)
			le.PutUint32(l[16:], 1)
			b.Write(l[:])
		}
	}
	if z.eocd != nil {
		z.eocd(&records, &cdSize, &cdOff)
	}
	var e [22]byte
	copy(e[:], sigEOCD)
	le.PutUint16(e[4:], z.disk)
	le.PutUint16(e[8:], records)
	le.PutUint16(e[10:], records)
	le.PutUint32(e[12:], cdSize)
	le.PutUint32(e[16:], cdOff)
	le.PutUint16(e[20:], uint16(len(z.comment)))
	b.Write(e[:])
	b.Write(z.comment)
	b.Write(z.suffix)
	return b.Bytes()
}

// eocd64Record returns a ZIP64 end of central directory record followed
// by ext, its extensible data.
func eocd64Record(records, cdSize, cdOff uint64, ext []byte) []byte {
	le := binary.LittleEndian
	var r [56]byte
	copy(r[:], sigEOCD64)
	le.PutUint64(r[4:], uint64(44+len(ext)))
	le.PutUint16(r[12:], 45)
	le.PutUint16(r[14:], 45)
	le.PutUint64(r[24:], records)
	le.PutUint64(r[32:], records)
	le.PutUint64(r[40:], cdSize)
	le.PutUint64(r[48:], cdOff)
	return append(r[:], ext...)
}

// extra returns an extra field.
func extra(id uint16, data []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, id)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// unicodePath returns an Info-ZIP Unicode Path extra naming name, for an
// entry whose header name is header (whose CRC-32 it carries, as unzip
// requires before it uses the extra).
func unicodePath(header, name string) []byte {
	d := []byte{1}
	d = binary.LittleEndian.AppendUint32(d, crc32.ChecksumIEEE([]byte(header)))
	return extra(extraUnicodePath, append(d, name...))
}

// zip64Sizes returns a ZIP64 extra with the given 8-byte values.
func zip64Sizes(vs ...uint64) []byte {
	var d []byte
	for _, v := range vs {
		d = binary.LittleEndian.AppendUint64(d, v)
	}
	return extra(extraZip64, d)
}

// with returns m changed by edit (applied to a copy of its local header,
// which the central entry then copies unless it has its own).
func with(m zmember, edit func(*zmember)) zmember {
	edit(&m)
	return m
}

func ptr[T any](v T) *T { return &v }

// confusionFixture is a crafted archive kept under testdata/confusion and
// the message the framing check gives for it ("" if accepted).
type confusionFixture struct {
	file string
	data func() []byte
	want string
}

const (
	goodInit = "print('the package')\n"
	evilInit = "print('not a wheel')\n"
)

func confusionFixtures() []confusionFixture {
	honest := func() []zmember {
		return []zmember{stored("pkg/__init__.py", goodInit), stored("pkg-1.0.dist-info/RECORD", "pkg/__init__.py,,\n")}
	}
	a := func(z zarchive) func() []byte { return z.bytes }
	var fx []confusionFixture
	add := func(file string, data func() []byte, want string) {
		fx = append(fx, confusionFixture{file, data, want})
	}
	// Accepted.
	add("honest.zip", a(zarchive{members: honest()}), "")
	add("eocd_comment.zip", a(zarchive{members: honest(), comment: []byte("an archive comment is allowed")}), "")
	add("zip64_honest.zip", a(zarchive{members: honest(), zip64: true}), "")

	// The confusion samples.
	evil := stored("pkg/__init__.py", evilInit)
	evil.noCentral = true
	add("hidden_local_entry.zip", a(zarchive{members: append([]zmember{evil}, honest()...)}), "Duplicate filename in local headers")
	swap := stored("pkg/x.py", evilInit)
	swap.local.extra = unicodePath("pkg/x.py", "pkg/__init__.py")
	add("unicode_path_swap.zip", a(zarchive{members: []zmember{stored("pkg/__init__.py", goodInit), swap}}),
		"Unicode path extra does not match filename")
	cdSwap := stored("pkg/x.py", evilInit)
	cdSwap.central = &zhdr{name: "pkg/x.py", crc: cdSwap.local.crc, csize: cdSwap.local.csize, usize: cdSwap.local.usize,
		extra: unicodePath("pkg/x.py", "pkg/__init__.py")}
	add("unicode_path_swap_central.zip", a(zarchive{members: []zmember{cdSwap}}), "Unicode path extra does not match filename")
	twoUnicode := stored("pkg/x.py", goodInit)
	twoUnicode.local.extra = append(unicodePath("pkg/x.py", "pkg/x.py"), unicodePath("pkg/x.py", "pkg/x.py")...)
	add("second_unicode_extra.zip", a(zarchive{members: []zmember{twoUnicode}}), "Invalid duplicate extra in local file")
	first := zarchive{members: []zmember{stored("pkg/__init__.py", evilInit)}}.bytes()
	second := zarchive{members: []zmember{stored("other/__init__.py", goodInit)}}.bytes()
	add("zipinzip.zip", func() []byte { return append(bytes.Clone(first), second...) }, "Filename not in central directory")
	same := zarchive{members: []zmember{stored("pkg/__init__.py", goodInit)}}.bytes()
	add("concatenated.zip", func() []byte { return append(bytes.Clone(first), same...) }, "Trailing data")
	dd := stored("pkg/__init__.py", goodInit)
	dd.local.flags = flagDataDescriptor
	dd.after = append([]byte("PK\x07\x08"), binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, dd.local.crc), dd.local.csize), dd.local.usize)...)
	add("data_descriptor.zip", a(zarchive{members: []zmember{dd}}), "ZIP contains a data descriptor")
	ddZero := dd
	ddZero.local.crc, ddZero.local.csize, ddZero.local.usize = 0, 0, 0
	ddZero.central = &zhdr{name: dd.local.name, flags: flagDataDescriptor, crc: dd.local.crc, csize: dd.local.csize, usize: dd.local.usize}
	add("data_descriptor_sizes_in_descriptor.zip", a(zarchive{members: []zmember{ddZero}}), "ZIP contains a data descriptor")
	comment := stored("pkg/__init__.py", goodInit)
	comment.central = &zhdr{name: "pkg/__init__.py", crc: comment.local.crc, csize: comment.local.csize, usize: comment.local.usize, comment: "hi"}
	add("cd_comment.zip", a(zarchive{members: []zmember{comment}}), "Comment in central directory")
	add("trailing_data.zip", a(zarchive{members: honest(), suffix: []byte("and then some")}), "Trailing data")
	add("prefix.zip", func() []byte {
		z := zarchive{members: honest()}
		b := append([]byte("#!/bin/sh\necho hi\n"), z.bytes()...)
		return b
	}, "Unknown record signature")
	add("second_eocd.zip", func() []byte {
		b := zarchive{members: honest()}.bytes()
		return append(b, b[len(b)-22:]...)
	}, "Bad magic number for central directory")
	add("eocd64_locator_mismatch.zip", a(zarchive{members: honest(), zip64: true, locatorOff: ptr(uint64(3))}),
		"Mis-matched EOCD64 record and locator offset")
	add("eocd64_without_locator.zip", a(zarchive{members: honest(), zip64: true, noLocator: true}), "Bad magic number for central directory")
	add("eocd64_non_locator.zip", a(zarchive{members: honest(), zip64First: true}), "Malformed zip file")
	add("zip64_extensible_data.zip", a(zarchive{members: honest(), zip64First: true, zip64Ext: []byte("more data")}),
		"ZIP64 extensible data not allowed")
	dupZip64 := stored("pkg/__init__.py", goodInit)
	dupZip64.local.extra = append(zip64Sizes(uint64(len(goodInit)), uint64(len(goodInit))), zip64Sizes(uint64(len(goodInit)), uint64(len(goodInit)))...)
	dupZip64.central = &dupZip64.local
	add("duplicate_zip64_extra.zip", a(zarchive{members: []zmember{dupZip64}}), "Invalid duplicate extra in local file")
	add("zip64_extra_csize.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.csize = 0xFFFFFFFF
		m.local.extra = extra(extraZip64, nil)
	})}}), "Malformed zip file")
	add("extra3byte.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.extra = []byte{1, 2, 3}
	})}}), "Malformed zip file")
	add("zip64_extra_too_long.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.extra = zip64Sizes(uint64(len(goodInit)), 1<<40)
	})}}), "Mis-matched data size")
	add("non_utf8_name.zip", a(zarchive{members: []zmember{stored("pkg/\xff.py", goodInit)}}), "Filename not unicode")
	add("non_ascii_without_utf8_flag.zip", a(zarchive{members: []zmember{stored("pkg/é.py", goodInit)}}), "Filename not in central directory")
	add("non_ascii_with_utf8_flag.zip", a(zarchive{members: []zmember{with(stored("pkg/é.py", goodInit), func(m *zmember) {
		m.local.flags = flagUTF8
	})}}), "")
	add("control_character_name.zip", a(zarchive{members: []zmember{stored("pkg/\x1b[2J.py", goodInit)}}), "Invalid character in filename")
	add("bidi_override_name.zip", a(zarchive{members: []zmember{with(stored("pkg/\u202eyp.exe", goodInit), func(m *zmember) {
		m.local.flags = flagUTF8
	})}}), "Invalid character in filename")
	add("cd_extra_entry.zip", a(zarchive{members: honest(), extraCentral: []zhdr{{name: "pkg/__init__.py",
		crc: crc32.ChecksumIEEE([]byte(goodInit)), csize: uint32(len(goodInit)), usize: uint32(len(goodInit))}}}),
		"Duplicate filename in central directory")
	add("cd_missing_entry.zip", a(zarchive{members: []zmember{stored("pkg/__init__.py", goodInit), with(stored("pkg/hidden.py", evilInit), func(m *zmember) {
		m.noCentral = true
	})}}), "Filename not in central directory")
	add("missing_local_file.zip", a(zarchive{members: []zmember{stored("pkg/__init__.py", goodInit), with(stored("pkg/ghost.py", evilInit), func(m *zmember) {
		m.noLocal = true
	})}}), "Missing filename in local headers")
	add("corrupt_unicode_extra.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.central.extra = append(extra(extraUnicodePath, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}), 0, 0)[:11]
		binary.LittleEndian.PutUint16(m.central.extra[2:], 9)
	})}}), "Corrupt extra field 7075 (size=9)")
	add("zip64_extra_compress_size_missing.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.central.usize, m.central.csize = 0xFFFFFFFF, 0xFFFFFFFF
		m.central.extra = zip64Sizes(uint64(len(goodInit)))
	})}}), "Corrupt zip64 extra field. Compress size not found.")

	// Beyond PyPI: the central entry must describe its own local header.
	add("offset_mismatch.zip", func() []byte {
		ms := []zmember{stored("pkg/a.py", goodInit), stored("pkg/b.py", goodInit)}
		ms[1].central = &zhdr{name: "pkg/b.py", crc: ms[1].local.crc, csize: ms[1].local.csize, usize: ms[1].local.usize, offset: 0}
		return zarchive{members: ms}.bytes()
	}, "Mis-matched local header offset")
	add("method_mismatch.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.central.method = 8
	})}}), "Mis-matched compression method")
	add("flags_mismatch.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.central.flags = flagUTF8
	})}}), "Mis-matched flags")
	add("crc_mismatch.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.central.crc = crc32.ChecksumIEEE([]byte(evilInit))
	})}}), "Mis-matched CRC-32")
	add("duplicate_extra_central.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.central.extra = append(unicodePath(m.local.name, m.local.name), unicodePath(m.local.name, m.local.name)...)
	})}}), "Invalid duplicate extra in central directory")
	add("eocd_records_mismatch.zip", a(zarchive{members: honest(), eocd: func(records *uint16, size, offset *uint32) { *records++ }}),
		"Mismatched central directory records")
	add("end_record_in_comment.zip", func() []byte {
		// The archive comment holds a second directory, whose entry
		// gives another CRC-32, and an end record placing it: zipfile
		// reads that one.
		z := zarchive{members: []zmember{stored("pkg/__init__.py", goodInit)}}
		b := z.bytes()
		end := b[len(b)-22:]
		cdOff := binary.LittleEndian.Uint32(end[16:])
		fakeCD := bytes.Clone(b[cdOff : len(b)-22])
		binary.LittleEndian.PutUint32(fakeCD[16:], crc32.ChecksumIEEE([]byte(evilInit)))
		fakeEnd := bytes.Clone(end)
		binary.LittleEndian.PutUint32(fakeEnd[16:], uint32(len(b))) // where the fake directory starts
		z.comment = append(fakeCD, fakeEnd...)
		return z.bytes()
	}, "Central directory is not the one the end record places")
	add("zip64_extra_usize.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.usize = 0xFFFFFFFF
		m.local.extra = extra(extraZip64, nil)
	})}}), "Malformed zip file")
	add("zip64_extra_bad_length.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.extra = extra(extraZip64, []byte{1})
	})}}), "Malformed zip file")
	add("zip64_extra_uncompressed_only_deflated.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.method = 8
		m.local.extra = zip64Sizes(uint64(len(goodInit)))
	})}}), "Malformed zip file")
	add("data_descriptor_zip64.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.flags = flagDataDescriptor
		m.local.csize, m.local.usize = 0xFFFFFFFF, 0xFFFFFFFF
		m.local.extra = zip64Sizes(uint64(len(goodInit)), uint64(len(goodInit)))
	})}}), "ZIP contains a data descriptor")
	add("unicode_extra_control_character.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.extra = unicodePath(m.local.name, "pkg/\x01.py")
	})}}), "Invalid character in filename")
	add("unicode_extra_not_utf8.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.extra = unicodePath(m.local.name, "pkg/\xf7.py")
	})}}), "Filename not valid UTF-8")
	add("eocd_offset_mismatch.zip", a(zarchive{members: honest(), eocd: func(records *uint16, size, offset *uint32) { *offset++ }}),
		"Mismatched central directory offset")
	add("eocd_size_mismatch.zip", a(zarchive{members: honest(), eocd: func(records *uint16, size, offset *uint32) { *size++ }}),
		"Bad magic number for central directory")
	add("eocd_disk_number.zip", a(zarchive{members: honest(), disk: 1}), "zipfiles that span multiple disks are not supported")
	add("zip64_end_record_disagrees.zip", a(zarchive{members: honest(), zip64: true, eocd: func(records *uint16, size, offset *uint32) {
		*size = 0x30303030
	}}), "End record disagrees with the ZIP64 end record")
	add("zip64_end_record_saturated.zip", a(zarchive{members: honest(), zip64: true, eocd: func(records *uint16, size, offset *uint32) {
		*records, *size, *offset = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
	}}), "")
	add("zip64_local_size_override.zip", func() []byte {
		// The local header gives the size of a deflate stream that ends
		// early, and a ZIP64 extra (which zipfile, pip and PyPI believe)
		// the size of that stream and the hidden header after it, which
		// a reader streaming local headers by their own sizes unpacks.
		var def bytes.Buffer
		fw, _ := flate.NewWriter(&def, flate.BestCompression)
		fw.Write([]byte(goodInit))
		fw.Close()
		hidden := zarchive{members: []zmember{stored("pkg/__init__.py", evilInit)}}.bytes()
		hidden = hidden[:localLen+len("pkg/__init__.py")+len(evilInit)]
		data := append(def.Bytes(), hidden...)
		m := zmember{local: zhdr{name: "pkg/__init__.py", method: 8, crc: crc32.ChecksumIEEE([]byte(goodInit)),
			csize: uint32(def.Len()), usize: uint32(len(goodInit)), extra: zip64Sizes(uint64(len(goodInit)), uint64(len(data)))}, data: data}
		m.central = &zhdr{name: m.local.name, method: 8, crc: m.local.crc, csize: uint32(len(data)), usize: m.local.usize}
		return zarchive{members: []zmember{m, stored("pkg-1.0.dist-info/RECORD", "pkg/__init__.py,,\n")}}.bytes()
	}, "ZIP64 extra disagrees with the local header sizes")
	add("zip64_local_sizes_repeated.zip", a(zarchive{members: []zmember{with(stored("pkg/__init__.py", goodInit), func(m *zmember) {
		m.central = ptr(m.local)
		m.local.extra = zip64Sizes(uint64(len(goodInit)), uint64(len(goodInit)))
	})}}), "")
	add("not_a_zip.zip", func() []byte { return []byte("just text, not an archive at all") }, "")
	return fx
}

// TestConfusionFixtures checks that testdata/confusion holds what its
// generators make, and that the framing check refuses each sample with
// PyPI's message (or accepts it).
func TestConfusionFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "confusion")
	for _, f := range confusionFixtures() {
		t.Run(f.file, func(t *testing.T) {
			data := f.data()
			path := filepath.Join(dir, f.file)
			if *updateConfusion {
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			kept, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-confusion)", err)
			}
			if !bytes.Equal(kept, data) {
				t.Fatalf("%s differs from its generator (run with -update-confusion)", path)
			}
			err = checkZipFraming(bytes.NewReader(data), int64(len(data)), DefaultMaxMembers)
			want := f.want
			switch {
			case f.file == "not_a_zip.zip":
				want = notZipMsg
			case want != "":
				want = zipNotAccepted(want)
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != want {
				t.Errorf("got %q\nwant %q", got, want)
			}
		})
	}
}
