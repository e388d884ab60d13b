package index

import (
	"strings"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
)

// checkMetadataValues applies PyPI's rules to the values of the core
// metadata an upload's archive carries, the metadata the release stores
// (pep.ValidateMetadata: classifiers, SPDX license expression, URLs,
// e-mail addresses, …), then checks that every License-File it lists is
// in the archive. It refuses with PyPI's message; on success it puts the
// License-Expression in its canonical form, which the release stores.
//
// PyPI applies the same rules to the form fields, which twine and its
// kin read from this same file; so a field newer than the file's
// Metadata-Version is refused only when the form carries it too, as on
// PyPI (see pep.ValidateOptions.Sent).
func (s *Service) checkMetadataValues(meta *pep.Metadata, form Form, arc *archive, fn string) error {
	opt := pep.ValidateOptions{
		AllowPrivateClassifiers: s.cfg.AllowPrivateClassifiers,
		Sent:                    func(field string) bool { return form.Get(metadataLimits[field].form) != "" },
	}
	if errs := pep.ValidateMetadata(meta, opt); len(errs) > 0 {
		msg := errs[0].Msg
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
		return problem.Errorf(problem.Invalid, "%s %s", msg, metadataHelp)
	}
	// An expression PyPI never saw (under an old Metadata-Version, not
	// sent) is stored as found when it is not valid.
	if canonical, err := pep.CanonicalLicenseExpression(meta.LicenseExpression); err == nil {
		meta.LicenseExpression = canonical
	}
	// License-File lines of metadata older than 2.4 predate PEP 639 (and
	// its licenses/ folder), and PyPI checks them only when sent, which
	// refuses them first.
	if len(meta.LicenseFiles) == 0 || !pep.MetadataVersionAtLeast(meta.MetadataVersion, "2.4") {
		return nil
	}
	return checkLicenseFiles(meta.LicenseFiles, arc, fn)
}

// checkLicenseFiles refuses an upload whose archive lacks a License-File
// its metadata lists: in a wheel under <name>-<version>.dist-info/licenses/
// (name and version as the file name spells them), in an sdist under its
// top folder.
func checkLicenseFiles(files []string, arc *archive, fn string) error {
	for _, f := range files {
		if target := arc.licenseDir + f; !arc.members[target] {
			return problem.Errorf(problem.Invalid, "License-File %s does not exist in distribution file %s at %s", f, fn, target)
		}
	}
	return nil
}
