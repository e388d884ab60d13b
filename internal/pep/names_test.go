package pep

import (
	"slices"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Django", "django"},
		{"zope.interface", "zope-interface"},
		{"Foo__Bar", "foo-bar"},
		{"foo.-_.-bar", "foo-bar"},
		{"-foo-", "-foo-"},
		{"", ""},
		{"ÄÖÜ", "äöü"},
		{"İ", "i\u0307"},
		{"ΟΔΟΣ", "οδος"},
		{"ΣΑ", "σα"},
		{"AΣ.b", "aς-b"},
		{"KELVIN-\u212a", "kelvin-k"},
		{"bad\xffutf8", "bad\xffutf8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormalizeName(tt.in); got != tt.want {
				t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidProjectName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a", true},
		{"A", true},
		{"0", true},
		{"requests", true},
		{"Flask-SQLAlchemy", true},
		{"zope.interface", true},
		{"a_b", true},
		{"a-.-_b", true},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"_a", false},
		{"a.", false},
		{"a b", false},
		{"a+b", false},
		{"a/b", false},
		{"straße", false},
		{"\u212a", false},
		{"a\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ValidProjectName(tt.in); got != tt.want {
				t.Errorf("ValidProjectName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestUltraNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Foo-Bar", "f00bar"},
		{"f00bar", "f00bar"},
		{"FOO.BAR", "f00bar"},
		{"foo__bar", "f00bar"},
		{"Illinois", "1111n01s"},
		{"pil", "p11"},
		{"p1l", "p11"},
		{"PIL", "p11"},
		{"abc", "abc"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := UltraNormalizeName(tt.in); got != tt.want {
				t.Errorf("UltraNormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWheelNamePrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Foo.Bar-baz", "foo_bar_baz"},
		{"requests", "requests"},
		{"typing-extensions", "typing_extensions"},
		{"A__B", "a_b"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := WheelNamePrefix(tt.in); got != tt.want {
				t.Errorf("WheelNamePrefix(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsStdlibModule(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"os", true},
		{"OS", true},
		{"sys", true},
		{"asyncio", true},
		{"py_compile", true},
		{"Py-Compile", true},
		{"tkinter", true},
		{"distutils", true}, // removed in 3.12, still in 3.11
		{"tomllib", true},   // added in 3.11
		{"xml", true},
		{"requests", false},
		{"numpy", false},
		{"_thread", false},
		{"thread", false},
		{"xml.etree", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IsStdlibModule(tt.in); got != tt.want {
				t.Errorf("IsStdlibModule(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestStdlibModules(t *testing.T) {
	mods := StdlibModules()
	if len(mods) < 200 {
		t.Fatalf("only %d stdlib modules embedded", len(mods))
	}
	if !slices.IsSorted(mods) {
		t.Errorf("StdlibModules is not sorted")
	}
	for _, m := range mods {
		if m == "" || m[0] == '_' || m[0] == '-' || NormalizeName(m) != m {
			t.Errorf("unexpected entry %q", m)
		}
	}
	mods[0] = "changed"
	if StdlibModules()[0] == "changed" {
		t.Errorf("StdlibModules returns the package's own slice")
	}
}

func TestParseModuleList(t *testing.T) {
	got := parseModuleList("# comment\n\nos\n_private\nPy_Compile\nos\n  sys  \n")
	want := []string{"os", "py-compile", "sys"}
	if !slices.Equal(got, want) {
		t.Errorf("parseModuleList = %q, want %q", got, want)
	}
}
