package pep

import "strings"

// fixedPlatformTags are the wheel platform tags PyPI accepts as they are.
var fixedPlatformTags = map[string]bool{
	"any":       true,
	"win32":     true,
	"win_amd64": true,
	"win_arm64": true,
	"win_ia64":  true,

	"manylinux1_x86_64":     true,
	"manylinux1_i686":       true,
	"manylinux2010_x86_64":  true,
	"manylinux2010_i686":    true,
	"manylinux2014_x86_64":  true,
	"manylinux2014_i686":    true,
	"manylinux2014_aarch64": true,
	"manylinux2014_armv7l":  true,
	"manylinux2014_ppc64":   true,
	"manylinux2014_ppc64le": true,
	"manylinux2014_s390x":   true,

	"linux_armv6l": true,
	"linux_armv7l": true,
}

// macOSArches are the architectures of macosx_* tags, those packaging
// writes: fat3 (x86_64, i386, ppc) among them, not "fat32", which PyPI's
// list had in its place until 2025 and no tool writes.
var macOSArches = map[string]bool{
	"x86_64": true, "arm64": true, "universal2": true, "intel": true,
	"fat": true, "fat3": true, "fat64": true, "universal": true,
	"i386": true, "ppc": true, "ppc64": true,
}

// macOSMajors are the macOS major versions from 11 on (whose tags always
// have minor version 0).
var macOSMajors = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true, "26": true,
}

// musllinuxArches are the architectures of PEP 656 musllinux_X_Y_* tags;
// PEP 600 manylinux_X_Y_* tags also allow ppc64.
var musllinuxArches = map[string]bool{
	"x86_64": true, "i686": true, "aarch64": true, "armv7l": true,
	"ppc64le": true, "s390x": true, "riscv64": true,
}

// iOSArches and iOSSDKs make up PEP 730 ios_X_Y_{arch}_{sdk} tags.
var (
	iOSArches = map[string]bool{"arm64": true, "x86_64": true}
	iOSSDKs   = map[string]bool{"iphoneos": true, "iphonesimulator": true}
)

// androidABIs are the ABIs of PEP 738 android_{api level}_{abi} tags.
var androidABIs = map[string]bool{
	"armeabi_v7a": true, "arm64_v8a": true, "x86": true, "x86_64": true,
}

// ValidPlatformTag reports whether tag is a wheel platform tag PyPI accepts
// for upload (the tag is case-sensitive):
//
//   - any; win32, win_amd64, win_arm64, win_ia64;
//   - manylinux1_{x86_64,i686}, manylinux2010_{x86_64,i686},
//     manylinux2014_{x86_64,i686,aarch64,armv7l,ppc64,ppc64le,s390x};
//   - PEP 600 manylinux_X_Y_{x86_64,i686,aarch64,armv7l,ppc64le,s390x,riscv64,ppc64};
//   - PEP 656 musllinux_X_Y_{x86_64,i686,aarch64,armv7l,ppc64le,s390x,riscv64};
//   - linux_armv6l, linux_armv7l (but not other linux_* tags, which name no
//     portable platform);
//   - macosx_10_N_{arch} and macosx_{11,12,13,14,15,26}_0_{arch}, arch one of
//     x86_64, arm64, universal2, intel, fat, fat3, fat64, universal, i386,
//     ppc, ppc64;
//   - PEP 730 ios_X_Y_{arm64,x86_64}_{iphoneos,iphonesimulator};
//   - PEP 738 android_N_{armeabi_v7a,arm64_v8a,x86,x86_64};
//   - PEP 783 pyemscripten_X_Y_wasm32.
//
// X, Y and N stand for decimal numbers.
func ValidPlatformTag(tag string) bool {
	if fixedPlatformTags[tag] {
		return true
	}
	switch {
	case strings.HasPrefix(tag, "macosx_"):
		major, rest, ok := cutNumber(tag[len("macosx_"):])
		if !ok {
			return false
		}
		minor, arch, ok := cutNumber(rest)
		if !ok {
			return false
		}
		if major == "10" {
			return macOSArches[arch]
		}
		return macOSMajors[major] && minor == "0" && macOSArches[arch]
	case strings.HasPrefix(tag, "manylinux_"):
		arch, ok := cutTwoNumbers(tag[len("manylinux_"):])
		return ok && (musllinuxArches[arch] || arch == "ppc64")
	case strings.HasPrefix(tag, "musllinux_"):
		arch, ok := cutTwoNumbers(tag[len("musllinux_"):])
		return ok && musllinuxArches[arch]
	case strings.HasPrefix(tag, "ios_"):
		rest, ok := cutTwoNumbers(tag[len("ios_"):])
		if !ok {
			return false
		}
		for sdk := range iOSSDKs {
			if arch, found := strings.CutSuffix(rest, "_"+sdk); found && iOSArches[arch] {
				return true
			}
		}
		return false
	case strings.HasPrefix(tag, "android_"):
		_, abi, ok := cutNumber(tag[len("android_"):])
		return ok && androidABIs[abi]
	case strings.HasPrefix(tag, "pyemscripten_"):
		arch, ok := cutTwoNumbers(tag[len("pyemscripten_"):])
		return ok && arch == "wasm32"
	}
	return false
}

// cutNumber splits "123_rest" into "123" and "rest". It fails unless s
// starts with at least one ASCII digit followed by '_'.
func cutNumber(s string) (num, rest string, ok bool) {
	n, i := scanDigits(s, 0)
	if n == "" || i >= len(s) || s[i] != '_' {
		return "", "", false
	}
	return n, s[i+1:], true
}

// cutTwoNumbers strips "X_Y_" (two decimal numbers) from the front of s.
func cutTwoNumbers(s string) (rest string, ok bool) {
	_, rest, ok = cutNumber(s)
	if !ok {
		return "", false
	}
	_, rest, ok = cutNumber(rest)
	return rest, ok
}
