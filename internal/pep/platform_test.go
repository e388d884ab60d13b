package pep

import "testing"

func TestValidPlatformTag(t *testing.T) {
	valid := []string{
		"any", "win32", "win_amd64", "win_arm64", "win_ia64",
		"manylinux1_x86_64", "manylinux1_i686", "manylinux2010_x86_64", "manylinux2010_i686",
		"manylinux2014_x86_64", "manylinux2014_i686", "manylinux2014_aarch64", "manylinux2014_armv7l",
		"manylinux2014_ppc64", "manylinux2014_ppc64le", "manylinux2014_s390x",
		"manylinux_2_17_x86_64", "manylinux_2_28_aarch64", "manylinux_2_5_i686", "manylinux_2_31_riscv64",
		"manylinux_2_17_ppc64", "manylinux_2_17_ppc64le", "manylinux_2_17_s390x", "manylinux_2_17_armv7l",
		"manylinux_10_100_x86_64",
		"musllinux_1_1_x86_64", "musllinux_1_2_aarch64", "musllinux_1_2_riscv64", "musllinux_1_2_armv7l",
		"musllinux_1_2_i686", "musllinux_1_2_ppc64le", "musllinux_1_2_s390x",
		"linux_armv6l", "linux_armv7l",
		"macosx_10_9_x86_64", "macosx_10_15_universal2", "macosx_10_6_intel", "macosx_10_4_fat",
		"macosx_10_5_fat3", "macosx_10_5_fat64", "macosx_10_3_ppc", "macosx_10_5_ppc64",
		"macosx_10_4_universal", "macosx_10_6_i386", "macosx_10_16_arm64",
		"macosx_11_0_arm64", "macosx_12_0_universal2", "macosx_13_0_x86_64", "macosx_14_0_arm64",
		"macosx_15_0_arm64", "macosx_26_0_arm64",
		"ios_13_0_arm64_iphoneos", "ios_13_0_arm64_iphonesimulator", "ios_12_0_x86_64_iphonesimulator",
		"android_21_arm64_v8a", "android_24_armeabi_v7a", "android_21_x86", "android_21_x86_64",
		"pyemscripten_2026_0_wasm32",
	}
	invalid := []string{
		"", "ANY", "linux_x86_64", "linux_i686", "linux_aarch64", "win_x86", "manylinux1_aarch64",
		"manylinux2010_aarch64", "manylinux2014_riscv64", "manylinux_2_17", "manylinux_2_x86_64",
		"manylinux_x_17_x86_64", "manylinux_2_17_", "manylinux_2_17_sparc",
		"musllinux_1_2_ppc64", "musllinux_1_x86_64",
		"macosx_10_5_fat32", "macosx_11_0_fat32", "macosx_11_1_arm64", "macosx_16_0_arm64", "macosx_27_0_arm64", "macosx_10_9_sparc", "macosx_10_x86_64",
		"macosx_9_0_x86_64", "macosx__9_x86_64", "macosx_10_9_",
		"ios_13_arm64_iphoneos", "ios_13_0_arm64_iphoneos_x", "ios_13_0_arm64_iphoneosx", "ios_13_0_arm64", "ios_13_0_armv7_iphoneos", "ios_13_0_arm64_ipados",
		"android_arm64_v8a", "android_21_0_arm64_v8a", "android_21_mips", "android_21_",
		"pyemscripten_2026_0_wasm64", "pyemscripten_2026_wasm32", "emscripten_3_1_14_wasm32",
		"any ", " any", "win32\n",
	}
	for _, tag := range valid {
		t.Run("valid/"+tag, func(t *testing.T) {
			if !ValidPlatformTag(tag) {
				t.Errorf("ValidPlatformTag(%q) = false, want true", tag)
			}
		})
	}
	for _, tag := range invalid {
		t.Run("invalid/"+tag, func(t *testing.T) {
			if ValidPlatformTag(tag) {
				t.Errorf("ValidPlatformTag(%q) = true, want false", tag)
			}
		})
	}
}
