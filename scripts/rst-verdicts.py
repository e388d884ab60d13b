#!/usr/bin/python3
"""Print PyPI's verdict on reStructuredText descriptions.

For each file named, renders it as PyPI does (readme_renderer.rst, the
Debian package python3-readme-renderer) and prints one line:
"<name> accept" or "<name> refuse <first docutils message>". Run locally
to regenerate internal/readme/testdata/rst/verdicts.txt:

    scripts/rst-verdicts.py internal/readme/testdata/rst/*.rst \
        > internal/readme/testdata/rst/verdicts.txt

With --html DIR it also writes readme_renderer's HTML of each accepted
file to DIR/<name>.html, for comparison.
"""
import io
import os
import sys

import readme_renderer.rst as rst


def main(argv):
    html_dir = None
    if argv[:1] == ["--html"]:
        html_dir, argv = argv[1], argv[2:]
    for path in argv:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        warnings = io.StringIO()
        out = rst.render(text, stream=warnings)
        name = os.path.basename(path)
        if out is None:
            first = warnings.getvalue().strip().splitlines()[:1] or [""]
            print(name, "refuse", first[0])
            continue
        print(name, "accept")
        if html_dir:
            with open(os.path.join(html_dir, name + ".html"), "w", encoding="utf-8") as f:
                f.write(out)


if __name__ == "__main__":
    main(sys.argv[1:])
