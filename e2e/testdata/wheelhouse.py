"""Make a package index of wheels from Debian's installed Python packages.

usage: wheelhouse.py OUTDIR DEBIAN-PACKAGE...

The end-to-end tests have no PyPI. Where a test follows instructions that
run `pip install NAME` from PyPI, pip finds NAME in OUTDIR instead: a PEP
503 index in folders (PIP_INDEX_URL=file:///OUTDIR/), where
OUTDIR/<name>/index.html links the wheels beside it. Unlike PIP_NO_INDEX,
an --index-url on the command line replaces it, as it replaces PyPI.

Each Debian package named, and every Debian package it depends on, becomes
one wheel made of the files it installed in dist-packages. Its
Requires-Dist are the Python distributions of its Debian dependencies
(Debian drops some upstream requirements from its metadata and satisfies
them through package dependencies), so that pip installs the closure apt
would. A package that installs no distribution metadata (only a module,
such as python3-cffi-backend) is named after the Debian package. The
wheels of pip, setuptools and wheel in /usr/share/python-wheels are added.
"""

import base64
import email.parser
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

SITE = "/usr/lib/python3/dist-packages/"


def installed():
    """Map every installed package (and what it provides) to its Depends."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Provides}\t${Depends}\n"],
        check=True, capture_output=True, text=True).stdout
    depends, provides = {}, {}
    for line in out.splitlines():
        pkg, status, prov, dep = line.split("\t")
        if not status.startswith("ii"):
            continue
        depends[pkg] = dep
        for p in prov.split(","):
            if p.strip():
                provides.setdefault(p.split()[0], pkg)
    return depends, provides


def dependencies(dep, depends, provides):
    """The installed packages a Depends field names (first installed alternative)."""
    for clause in dep.split(","):
        for alt in clause.split("|"):
            name = alt.split()[0].split(":")[0] if alt.strip() else ""
            name = name if name in depends else provides.get(name, "")
            if name:
                yield name
                break


def package_files(pkg):
    """The regular files pkg installed under dist-packages."""
    out = subprocess.run(["dpkg-query", "-L", pkg], check=True, capture_output=True, text=True).stdout
    return [p for p in out.splitlines() if p.startswith(SITE) and os.path.isfile(p) and not os.path.islink(p)]


def metadata_dir(files):
    """The distribution metadata (dist-info or egg-info) among files, if any."""
    dirs = sorted({m.group(0) for f in files
                   for m in [re.match(re.escape(SITE) + r"[^/]+-[^/]+\.(dist|egg)-info", f)] if m})
    return dirs[0] if dirs else None


def read_metadata(mdir):
    for name in ("METADATA", "PKG-INFO"):
        p = os.path.join(mdir, name)
        if os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                return email.parser.Parser().parse(f)
    if os.path.isfile(mdir):  # an egg-info file
        with open(mdir, encoding="utf-8") as f:
            return email.parser.Parser().parse(f)
    return None


def normalize(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def main(outdir, roots):
    depends, provides = installed()
    dists = {}  # Debian package -> (name, version, files, metadata dir)
    todo, seen = list(roots), set()
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        if pkg not in depends:
            sys.exit(f"wheelhouse: {pkg} is not installed")
        files = package_files(pkg)
        if not files:
            continue  # not a Python package (python3, libc6, ...)
        mdir = metadata_dir(files)
        meta = read_metadata(mdir) if mdir else None
        if meta is not None:
            name, version = meta["Name"], meta["Version"]
        else:
            name = re.sub(r"^python3-", "", pkg)
            version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                                     check=True, capture_output=True, text=True).stdout
            version = re.sub(r"[^0-9.].*$", "", version.split(":")[-1]).strip(".")
        version = version.split("+")[0]  # no local versions in a wheel's name
        dists[pkg] = (name, version, files, mdir)
        todo.extend(dependencies(depends[pkg], depends, provides))

    os.makedirs(outdir, exist_ok=True)
    tag = "cp%d%d-cp%d%d-%s" % (*sys.version_info[:2], *sys.version_info[:2],
                               sysconfig.get_platform().replace("-", "_").replace(".", "_"))
    for pkg, (name, version, files, mdir) in sorted(dists.items()):
        requires = sorted({dists[d][0] for d in dependencies(depends[pkg], depends, provides)
                           if d in dists and d != pkg})
        payload = [f for f in files if not (mdir and (f == mdir or f.startswith(mdir + "/")))]
        binary = any(f.endswith(".so") for f in payload)
        wheel_tag = tag if binary else "py3-none-any"
        dist_info = f"{normalize(name)}-{version}.dist-info"
        entry_points = None
        if mdir and os.path.isfile(os.path.join(mdir, "entry_points.txt")):
            with open(os.path.join(mdir, "entry_points.txt"), encoding="utf-8") as f:
                entry_points = f.read()
        meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s" % (
            name, version, "".join(f"Requires-Dist: {r}\n" for r in requires))
        wheel = "Wheel-Version: 1.0\nGenerator: cheeseshop-e2e\nRoot-Is-Purelib: %s\nTag: %s\n" % (
            "false" if binary else "true", wheel_tag)
        path = os.path.join(project_dir(outdir, name), f"{normalize(name)}-{version}-{wheel_tag}.whl")
        record = []
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            def add(arcname, data):
                z.writestr(arcname, data)
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                record.append(f"{arcname},sha256={digest},{len(data)}")
            for f in payload:
                with open(f, "rb") as src:
                    add(f[len(SITE):], src.read())
            add(f"{dist_info}/METADATA", meta.encode())
            add(f"{dist_info}/WHEEL", wheel.encode())
            if entry_points:
                add(f"{dist_info}/entry_points.txt", entry_points.encode())
            z.writestr(f"{dist_info}/RECORD", "\n".join(record + [f"{dist_info}/RECORD,,"]) + "\n")
    for whl in sorted(os.listdir("/usr/share/python-wheels")):
        dest = project_dir(outdir, whl.split("-")[0])
        if not os.path.exists(os.path.join(dest, whl)):
            shutil.copy(os.path.join("/usr/share/python-wheels", whl), dest)
    projects = sorted(os.listdir(outdir))
    for project in projects:
        wheels = sorted(w for w in os.listdir(os.path.join(outdir, project)) if w.endswith(".whl"))
        with open(os.path.join(outdir, project, "index.html"), "w", encoding="utf-8") as f:
            f.write("<!DOCTYPE html>\n<html><body>\n")
            for w in wheels:
                with open(os.path.join(outdir, project, w), "rb") as whl:
                    digest = hashlib.sha256(whl.read()).hexdigest()
                f.write(f'<a href="{w}#sha256={digest}">{w}</a>\n')
            f.write("</body></html>\n")
    print(f"{len(projects)} projects: {' '.join(projects)}")


def project_dir(outdir, name):
    """The folder of a project in the index, by its PEP 503 normalized name."""
    d = os.path.join(outdir, re.sub(r"[-_.]+", "-", name).lower())
    os.makedirs(d, exist_ok=True)
    return d


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
