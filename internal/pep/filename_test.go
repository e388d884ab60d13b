package pep

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseWheelFilename(t *testing.T) {
	tests := []struct {
		in   string
		want WheelFilename
	}{
		{
			in: "requests-2.31.0-py3-none-any.whl",
			want: WheelFilename{Name: "requests", Version: "2.31.0",
				PythonTags: []string{"py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"}},
		},
		{
			in: "numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
			want: WheelFilename{Name: "numpy", Version: "1.26.4",
				PythonTags: []string{"cp312"}, ABITags: []string{"cp312"},
				PlatformTags: []string{"manylinux_2_17_x86_64", "manylinux2014_x86_64"}},
		},
		{
			in: "Foo.Bar-1.0.POST1-7abc-py2.py3-none-ANY.whl",
			want: WheelFilename{Name: "Foo.Bar", Version: "1.0.POST1", Build: "7abc",
				PythonTags: []string{"py2", "py3"}, ABITags: []string{"none"}, PlatformTags: []string{"ANY"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseWheelFilename(tt.in)
			if err != nil {
				t.Fatalf("ParseWheelFilename: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseWheelFilename = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseWheelFilenameErrors(t *testing.T) {
	tests := []struct {
		in, msg     string
		wantVersion bool
	}{
		{in: "foo-1.0-py3-none-any.zip", msg: "Invalid wheel filename (extension must be '.whl'): foo-1.0-py3-none-any.zip"},
		{in: "foo-1.0-py3-none.whl", msg: "Invalid wheel filename (wrong number of parts): foo-1.0-py3-none.whl"},
		{in: "a-b-c-d-e-f-g.whl", msg: "Invalid wheel filename (wrong number of parts)"},
		{in: "foo__bar-1.0-py3-none-any.whl", msg: `Invalid wheel filename (invalid project name "foo__bar")`},
		{in: "foo bar-1.0-py3-none-any.whl", msg: "invalid project name"},
		{in: "-1.0-py3-none-any.whl", msg: "Invalid wheel filename (empty project name): -1.0-py3-none-any.whl"},
		{in: "foo-1.0x-py3-none-any.whl", msg: `Invalid wheel filename (invalid version): foo-1.0x-py3-none-any.whl: Invalid version: "1.0x"`, wantVersion: true},
		{in: "foo-1.0-abc-py3-none-any.whl", msg: `Invalid wheel filename (invalid build number "abc")`},
		{in: "foo-1.0--py3-none-any.whl", msg: `invalid build number ""`},
		{in: "foo-1.0-" + strings.Repeat("a.", 16) + "a-" + strings.Repeat("b.", 16) + "b-" + strings.Repeat("c.", 15) + "c.whl", msg: "Invalid wheel filename (more than 4096 tags)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			w, err := ParseWheelFilename(tt.in)
			if err == nil {
				t.Fatalf("ParseWheelFilename = %#v, want an error", w)
			}
			if !errors.Is(err, ErrInvalidWheelFilename) {
				t.Errorf("error %v does not wrap ErrInvalidWheelFilename", err)
			}
			if got := errors.Is(err, ErrInvalidVersion); got != tt.wantVersion {
				t.Errorf("errors.Is(err, ErrInvalidVersion) = %v, want %v", got, tt.wantVersion)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestWheelFilenameTags(t *testing.T) {
	w, err := ParseWheelFilename("foo-1.0-cp36.cp37-abi3.none-win_amd64.win32.whl")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"cp36-abi3-win_amd64", "cp36-abi3-win32", "cp36-none-win_amd64", "cp36-none-win32",
		"cp37-abi3-win_amd64", "cp37-abi3-win32", "cp37-none-win_amd64", "cp37-none-win32",
	}
	if got := w.Tags(); !slices.Equal(got, want) {
		t.Errorf("Tags() = %q, want %q", got, want)
	}
}

func TestParseSdistFilename(t *testing.T) {
	tests := []struct {
		in, name, version string
	}{
		{"requests-2.31.0.tar.gz", "requests", "2.31.0"},
		{"requests-2.31.0.zip", "requests", "2.31.0"},
		{"foo-bar-1.0.post1.tar.gz", "foo-bar", "1.0.post1"},
		{"Foo.Bar-V1.0.tar.gz", "Foo.Bar", "V1.0"},
		{"foo-1.0-1.tar.gz", "foo-1.0", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			name, version, err := ParseSdistFilename(tt.in)
			if err != nil {
				t.Fatalf("ParseSdistFilename: %v", err)
			}
			if name != tt.name || version != tt.version {
				t.Errorf("ParseSdistFilename = %q, %q, want %q, %q", name, version, tt.name, tt.version)
			}
		})
	}
}

func TestParseSdistFilenameErrors(t *testing.T) {
	tests := []struct {
		in, msg     string
		wantVersion bool
	}{
		{in: "foo-1.0.tgz", msg: "Invalid sdist filename (extension must be '.tar.gz' or '.zip'): foo-1.0.tgz"},
		{in: "foo-1.0.TAR.GZ", msg: "extension must be"},
		{in: "foo.tar.gz", msg: "Invalid sdist filename (no '-' between name and version): foo.tar.gz"},
		{in: "-1.0.tar.gz", msg: "Invalid sdist filename (empty project name)"},
		{in: "foo-1.0x.zip", msg: `Invalid sdist filename (invalid version): foo-1.0x.zip: Invalid version: "1.0x"`, wantVersion: true},
		{in: "foo-.tar.gz", msg: `Invalid version: ""`, wantVersion: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			name, version, err := ParseSdistFilename(tt.in)
			if err == nil {
				t.Fatalf("ParseSdistFilename = %q, %q, want an error", name, version)
			}
			if !errors.Is(err, ErrInvalidSdistFilename) {
				t.Errorf("error %v does not wrap ErrInvalidSdistFilename", err)
			}
			if got := errors.Is(err, ErrInvalidVersion); got != tt.wantVersion {
				t.Errorf("errors.Is(err, ErrInvalidVersion) = %v, want %v", got, tt.wantVersion)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestSdistFilename(t *testing.T) {
	tests := []struct{ name, version, want string }{
		{"Foo.Bar", "1.0", "foo_bar-1.0.tar.gz"},
		{"requests", "v2.31.0", "requests-2.31.0.tar.gz"},
		{"typing-extensions", "4.0.0-ALPHA1", "typing_extensions-4.0.0a1.tar.gz"},
		{"zope.interface", "1!5.0+local", "zope_interface-1!5.0+local.tar.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.version, func(t *testing.T) {
			got := SdistFilename(tt.name, mustParse(t, tt.version))
			if got != tt.want {
				t.Errorf("SdistFilename = %q, want %q", got, tt.want)
			}
			name, version, err := ParseSdistFilename(got)
			if err != nil || name != WheelNamePrefix(tt.name) || version != mustParse(t, tt.version).String() {
				t.Errorf("ParseSdistFilename(%q) = %q, %q, %v", got, name, version, err)
			}
		})
	}
}

func TestNormalizeSdistFilename(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		// What setuptools < 69.3 writes: the name as the project spells it.
		{"nc-hello-0.1.0.tar.gz", "nc_hello-0.1.0.tar.gz", true},
		{"Foo.Bar-1.0.tar.gz", "foo_bar-1.0.tar.gz", true},
		{"Foo_Bar.baz-1.0.tar.gz", "foo_bar_baz-1.0.tar.gz", true},
		{"zope.interface-5.0.tar.gz", "zope_interface-5.0.tar.gz", true},
		{"a--b__c..d-1.0.tar.gz", "a_b_c_d-1.0.tar.gz", true},
		// The version in its normalized form.
		{"nc-hello-0.1.00.tar.gz", "nc_hello-0.1.0.tar.gz", true},
		{"typing-extensions-4.0.0-ALPHA1.tar.gz", "", false}, // split at the last '-': "ALPHA1" is no version
		{"typing-extensions-4.0.0ALPHA1.tar.gz", "typing_extensions-4.0.0a1.tar.gz", true},
		{"requests-v2.31.0.tar.gz", "requests-2.31.0.tar.gz", true},
		{"zope.interface-1!5.0+local.tar.gz", "zope_interface-1!5.0+local.tar.gz", true},
		// Already PEP 625: unchanged.
		{"nc_hello-0.1.0.tar.gz", "nc_hello-0.1.0.tar.gz", true},
		{"x-1.tar.gz", "x-1.tar.gz", true},
		// A hyphenated post-release reads as another project, as packaging reads it.
		{"foo-1.0-1.tar.gz", "foo_1_0-1.tar.gz", true},
		// Not a .tar.gz sdist, or no valid name or version.
		{"nc-hello-0.1.0.zip", "", false},
		{"nc-hello-0.1.0.TAR.GZ", "", false},
		{"nc-hello-0.1.0.tar", "", false},
		{"nc_hello-0.1.0-py3-none-any.whl", "", false},
		{"nc-hello.tar.gz", "", false},
		{"-1.0.tar.gz", "", false},
		{"nc-hello-.tar.gz", "", false},
		{"nc-hello-one.tar.gz", "", false},
		{"_nc-1.0.tar.gz", "", false},
		{"nc hello-1.0.tar.gz", "", false},
		{"caf\u00e9-1.0.tar.gz", "", false},
		{"de\u212amo-1.0.tar.gz", "", false}, // the Kelvin sign folds to k in Python's re, not here
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := NormalizeSdistFilename(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("NormalizeSdistFilename(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if !ok {
				return
			}
			if again, ok := NormalizeSdistFilename(got); again != got || !ok {
				t.Errorf("NormalizeSdistFilename(%q) = %q, %v: not idempotent", got, again, ok)
			}
			if FilenameKey(got) != FilenameKey(tt.in) {
				t.Errorf("FilenameKey(%q) = %q, but FilenameKey(%q) = %q", got, FilenameKey(got), tt.in, FilenameKey(tt.in))
			}
		})
	}
}

func TestValidTag(t *testing.T) {
	for _, good := range []string{"py3", "cp312", "none", "abi3", "manylinux_2_17_x86_64", "ANY", "_"} {
		if !ValidTag(good) {
			t.Errorf("ValidTag(%q) = false, want true", good)
		}
	}
	for _, bad := range []string{"", "py 3", "<b>", `"py3"`, "py3;", "py3#", "py3?", "p\u212ay", "pé", "py3\n", "py-3", "py.3", "py3'"} {
		if ValidTag(bad) {
			t.Errorf("ValidTag(%q) = true, want false", bad)
		}
	}
}

// TestFilenameKey: every spelling of a distribution's filename has one
// key, and distributions that differ have different keys.
func TestFilenameKey(t *testing.T) {
	same := [][]string{
		{
			"demo-1.0-py3-none-any.whl",
			"Demo-1.0-py3-none-any.whl",
			"DEMO-1.0-PY3-NONE-ANY.whl",
			"demo-1.0.0-py3-none-any.whl",
			"demo-1.00-py3-none-any.whl",
			"demo-v1.0-py3-none-any.whl",
			"demo-1.0-1-py3-none-any.whl",
			"demo-1.0-01abc-py3-none-any.whl",
			"demo-1.0-py3.py3-none-any.whl",
			"demo-1.0-py3-none.none-any.ANY.whl",
		},
		{"demo-1.0.post1-py2.py3-none-any.whl", "demo-1.0_post1-py3.py2-none-any.whl", "demo-1.0.0post1-py3.PY2.py3-none-any.whl", "demo-1.0.0.post01-py2.py3-none-any.whl"},
		{"dem\u212a-1.0-py3-none-any.whl", "demk-1.0-py3-none-any.whl", "DemK-1.0-py3-none-any.whl"},
		{"foo_bar-1.0.tar.gz", "Foo.Bar-1.0.0.tar.gz", "foo-bar-1.0.zip", "FOO__BAR-1.00.tar.gz"},
		{"foo_bar-2!1.0rc1.dev3.tar.gz", "foo_bar-2!1.0.0RC_1.DEV3.tar.gz"},
	}
	keys := map[string]string{}
	for _, group := range same {
		want := FilenameKey(group[0])
		for _, fn := range group[1:] {
			if got := FilenameKey(fn); got != want {
				t.Errorf("FilenameKey(%q) = %q, want %q (the key of %q)", fn, got, want, group[0])
			}
		}
		if other, dup := keys[want]; dup {
			t.Errorf("%q and %q share the key %q", group[0], other, want)
		}
		keys[want] = group[0]
	}
	different := []string{
		"demo-1.0-py3-none-any.whl",
		"demo-1.0.1-py3-none-any.whl",
		"demo-1.0.post1-py3-none-any.whl",
		"demo-1.0-py2.py3-none-any.whl",
		"demo-1.0-cp312-cp312-win_amd64.whl",
		"demo-1.0.tar.gz",
		"demo-1.0.1.tar.gz",
		"demo2-1.0-py3-none-any.whl",
		"demo-1.0-py3-none-any.whl.asc",
	}
	seen := map[string]string{}
	for _, fn := range different {
		k := FilenameKey(fn)
		if other, dup := seen[k]; dup {
			t.Errorf("%q and %q share the key %q", fn, other, k)
		}
		seen[k] = fn
	}
	for fn, want := range map[string]string{
		"Foo.Bar-1.0.0-7-py3.py2-none-any.whl": "wheel:foo_bar-1-py2.py3-none-any",
		"foo_bar-1.0.tar.gz":                   "sdist:foo_bar-1",
		"foo-1.0.egg":                          "file:foo-1.0.egg",
	} {
		if got := FilenameKey(fn); got != want {
			t.Errorf("FilenameKey(%q) = %q, want %q", fn, got, want)
		}
	}
}
