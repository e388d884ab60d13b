#!/usr/bin/python3
"""install-dists.py — the distributions of `scripts/bench.sh install`.

Usage: /usr/bin/python3 scripts/install-dists.py WORKDIR

It writes the sources of ten Python projects under WORKDIR/src (one folder
per release), builds each release's wheel and sdist with Debian's build
backends (setuptools, flit_core, hatchling, poetry-core, pdm-pep517) through
`python3 -m build --no-isolation` (offline: nothing comes from PyPI), and
puts the files to upload in WORKDIR/dist, with Debian's own wheels of pip,
setuptools and wheel (/usr/share/python-wheels): pip needs the last two to
build an sdist in an isolated environment. It prints one line per file.

The projects form the dependency graph of a small application:

  fromagerie 1.2.0 (setuptools, console script)
  ├── curd-http >=2.1,<3 (hatchling)
  │   ├── curd-urls >=1.2 (flit_core)
  │   │   └── rennet-core >=1.5
  │   ├── cheese-certs
  │   └── rennet-core >=2.0 (setuptools; 3.0.0 needs Python >= 3.12)
  ├── rind-config ~=1.4 (pdm-pep517)
  │   ├── rennet-core
  │   └── brine-yaml >=0.5 (flit_core)
  ├── whey-orm >=0.9 (poetry-core)
  │   ├── rennet-core >=2.0,<3
  │   └── aging-tz >=2023.1 (setuptools, a large data module)
  └── brine-cli >=3.0 (hatchling)
      ├── rind-config >=1.0
      └── brine-yaml

Shared dependencies (rennet-core four times), version specifiers that
exclude releases (rennet-core 1.9.2 and 3.0.0, the latter by
Requires-Python), and one release published as an sdist only
(cheese-certs 2024.2.1, setuptools, after 2024.1.0 with a wheel): pip picks
it unless told --only-binary :all:, and builds it, fetching setuptools and
wheel from the index. Modules are generated (seeded, so every run builds the
same sources) to realistic sizes: wheels from 10 KB to 440 KB, 1.1 MB of
wheels per install.

Setuptools 66, flit_core 3.8 and pdm-pep517 1.1 name sdists
rennet-core-2.3.0.tar.gz, where the index wants PEP 625's
rennet_core-2.3.0.tar.gz (setuptools >= 69.3 writes it; hatchling 1.12 and
poetry-core 1.4 already do): such sdists are renamed, their top folder
included, as e2e/python_test.go does. Wheels are uploaded as built.
"""

import glob
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor

PYTHON = "/usr/bin/python3"

# name, version, backend, dependencies, requires-python, KB of generated source
RELEASES = [
    ("fromagerie", "1.2.0", "setuptools",
     ["curd-http>=2.1,<3", "rind-config~=1.4", "whey-orm>=0.9", "brine-cli>=3.0"], ">=3.8", 60),
    ("curd-http", "2.4.1", "hatchling",
     ["curd-urls>=1.2", "cheese-certs", "rennet-core>=2.0"], ">=3.8", 420),
    ("curd-urls", "1.26.3", "flit", ["rennet-core>=1.5"], ">=3.7", 240),
    ("rennet-core", "1.9.2", "setuptools", [], ">=3.7", 700),
    ("rennet-core", "2.3.0", "setuptools", [], ">=3.8", 900),
    ("rennet-core", "3.0.0", "setuptools", [], ">=3.12", 900),
    ("cheese-certs", "2024.1.0", "setuptools", [], ">=3.6", 30),
    ("cheese-certs", "2024.2.1", "setuptools", [], ">=3.6", 30),  # sdist only
    ("rind-config", "1.4.2", "pdm", ["rennet-core", "brine-yaml>=0.5"], ">=3.8", 120),
    ("brine-yaml", "0.6.0", "flit", [], ">=3.8", 360),
    ("whey-orm", "0.9.5", "poetry", ["rennet-core>=2.0,<3", "aging-tz>=2023.1"], ">=3.8", 520),
    ("aging-tz", "2024.1", "setuptools", [], ">=3.6", 0),  # data instead of code
    ("brine-cli", "3.1.0", "hatchling", ["rind-config>=1.0", "brine-yaml"], ">=3.8", 160),
]
SDIST_ONLY = {("cheese-certs", "2024.2.1")}


def module_name(name):
    return name.replace("-", "_")


def dist_name(name):
    """The name part of wheel and PEP 625 sdist filenames."""
    return re.sub(r"[-_.]+", "_", name).lower()


WORDS = ("cheddar brie gouda feta stilton camembert emmental gruyere manchego roquefort "
         "parmesan ricotta halloumi taleggio comte reblochon mimolette edam provolone "
         "request response session header cookie stream buffer parse render encode decode "
         "token cursor column record schema field value cache pool retry timeout").split()


def ident(rng):
    return "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))) + str(rng.randint(0, 99))


def gen_function(rng):
    name, args = ident(rng), sorted({ident(rng) for _ in range(rng.randint(1, 4))})
    lines = [f"def {name}({', '.join(args)}):",
             f'    """{" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize()}."""']
    acc = args[0]
    for _ in range(rng.randint(2, 8)):
        var = ident(rng)
        lines.append(f"    {var} = {rng.choice(args)} if {acc} else {rng.randint(0, 1 << 16)!r}")
        acc = var
    lines.append(f"    return {acc}")
    return "\n".join(lines) + "\n"


def gen_class(rng):
    name = "".join(w.capitalize() for w in ident(rng).split("_"))
    body = [f"class {name}:",
            f'    """{" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))).capitalize()}."""',
            "",
            "    def __init__(self, value=None):",
            "        self.value = value",
            ""]
    for _ in range(rng.randint(2, 6)):
        fn = gen_function(rng).replace("(", "(self, ", 1)
        body += ["    " + line if line else line for line in fn.splitlines()] + [""]
    return "\n".join(body) + "\n"


def gen_module(rng, size):
    parts, n = ['"""Generated for cheeseshop\'s install benchmark."""\n'], 0
    while n < size:
        part = gen_class(rng) if rng.random() < 0.3 else gen_function(rng)
        parts.append(part)
        n += len(part)
    return "\n\n".join(parts)


def gen_data(rng, size):
    """A large data module, like a time zone or a certificate bundle."""
    lines, n = ['"""Generated for cheeseshop\'s install benchmark."""\n', "ZONES = {"], 0
    while n < size:
        key = "/".join(w.capitalize() for w in ident(rng).split("_"))
        vals = ", ".join(str(rng.randint(-50400, 50400)) for _ in range(rng.randint(4, 24)))
        line = f"    {key!r}: ({vals}),"
        lines.append(line)
        n += len(line)
    lines.append("}\n")
    return "\n".join(lines)


def pyproject(name, version, backend, deps, requires_python):
    desc = f"{name}: part of cheeseshop's install benchmark"
    dep_list = "[" + ", ".join(f'"{d}"' for d in deps) + "]"
    project = (f'[project]\nname = "{name}"\nversion = "{version}"\ndescription = "{desc}"\n'
               f'readme = "README.md"\nrequires-python = "{requires_python}"\nlicense = {{text = "MIT"}}\n'
               f'authors = [{{name = "Alice Fromage", email = "alice@example.org"}}]\n'
               f'classifiers = ["Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"]\n'
               f'dependencies = {dep_list}\n')
    if name == "fromagerie":
        project += '\n[project.scripts]\nfromagerie = "fromagerie:main"\n'
    if backend == "setuptools":
        return ('[build-system]\nrequires = ["setuptools>=61", "wheel"]\nbuild-backend = "setuptools.build_meta"\n\n'
                + project + '\n[tool.setuptools.packages.find]\nwhere = ["src"]\n')
    if backend == "flit":
        return '[build-system]\nrequires = ["flit_core >=3.2,<4"]\nbuild-backend = "flit_core.buildapi"\n\n' + project
    if backend == "hatchling":
        return ('[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n' + project
                + f'\n[tool.hatch.build.targets.wheel]\npackages = ["src/{module_name(name)}"]\n')
    if backend == "pdm":
        return ('[build-system]\nrequires = ["pdm-pep517>=1.0"]\nbuild-backend = "pdm.pep517.api"\n\n' + project
                + '\n[tool.pdm]\npackage-dir = "src"\n')
    if backend == "poetry":
        pdeps = "".join(f'{re.split("[<>=~!]", d, maxsplit=1)[0]} = "{d[len(re.split("[<>=~!]", d, maxsplit=1)[0]):] or "*"}"\n'
                        for d in deps)
        return ('[build-system]\nrequires = ["poetry-core>=1.0.0"]\nbuild-backend = "poetry.core.masonry.api"\n\n'
                f'[tool.poetry]\nname = "{name}"\nversion = "{version}"\ndescription = "{desc}"\n'
                f'authors = ["Alice Fromage <alice@example.org>"]\nlicense = "MIT"\nreadme = "README.md"\n'
                f'packages = [{{ include = "{module_name(name)}", from = "src" }}]\n\n'
                f'[tool.poetry.dependencies]\npython = "{requires_python}"\n{pdeps}')
    raise ValueError(backend)


def write_sources(root, release):
    name, version, backend, deps, requires_python, kb = release
    rng = random.Random(f"{name}-{version}")
    src = os.path.join(root, "src", f"{name}-{version}")
    shutil.rmtree(src, ignore_errors=True)
    mod = module_name(name)
    pkg = os.path.join(src, "src", mod)
    os.makedirs(pkg)
    with open(os.path.join(src, "pyproject.toml"), "w") as f:
        f.write(pyproject(name, version, backend, deps, requires_python))
    with open(os.path.join(src, "README.md"), "w") as f:
        f.write(f"# {name}\n\n{name} {version}, generated for cheeseshop's install benchmark.\n")
    init = f'"""{name}, generated for cheeseshop\'s install benchmark."""\n\n__version__ = "{version}"\n'
    if name == "fromagerie":
        imports = "".join(f"import {module_name(re.split('[<>=~!]', d, maxsplit=1)[0])}\n" for d in deps)
        init += f"\n\ndef main():\n    {imports.strip().replace(chr(10), chr(10) + '    ')}\n    print('fromagerie', __version__)\n"
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write(init)
    if name == "aging-tz":
        with open(os.path.join(pkg, "zones.py"), "w") as f:
            f.write(gen_data(rng, 1100 << 10))
    left, i = kb << 10, 0
    while left > 0:
        size = min(left, rng.randint(20, 90) << 10)
        with open(os.path.join(pkg, f"{ident(rng)}_{i}.py"), "w") as f:
            f.write(gen_module(rng, size))
        left -= size
        i += 1
    return src


def normalize_sdist(path):
    """Renames an sdist to its PEP 625 name, top folder included."""
    stem = os.path.basename(path)[: -len(".tar.gz")]
    name, version = stem.rsplit("-", 1)
    want = f"{dist_name(name)}-{version}"
    if stem == want:
        return path
    dst = os.path.join(os.path.dirname(path), want + ".tar.gz")
    with tarfile.open(path, "r:gz") as tin, tarfile.open(dst, "w:gz", format=tarfile.PAX_FORMAT) as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read() if m.isfile() else None
            if m.name == stem or m.name.startswith(stem + "/"):
                m.name = want + m.name[len(stem):]
            tout.addfile(m, io.BytesIO(data) if data is not None else None)
    os.remove(path)
    return dst


def build(root, release):
    name, version = release[0], release[1]
    src = write_sources(root, release)
    out = os.path.join(root, "build", f"{name}-{version}")
    shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    r = subprocess.run([PYTHON, "-m", "build", "--no-isolation", "--skip-dependency-check", "--sdist", "--wheel", "--outdir", out, src],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"python3 -m build {name} {version} failed:\n{r.stdout}\n{r.stderr}")
    files = []
    for f in sorted(os.listdir(out)):
        p = os.path.join(out, f)
        if f.endswith(".whl"):
            if not f.startswith(dist_name(name) + "-"):
                raise RuntimeError(f"{release[2]} built {f}, not a normalized wheel name")
            if (name, version) in SDIST_ONLY:
                continue
            files.append(p)
        elif f.endswith(".tar.gz"):
            files.append(normalize_sdist(p))
    if len(files) != (1 if (name, version) in SDIST_ONLY else 2):
        raise RuntimeError(f"building {name} {version} made {os.listdir(out)}, want a wheel and an sdist")
    return files


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    root = os.path.abspath(sys.argv[1])
    dist = os.path.join(root, "dist")
    shutil.rmtree(dist, ignore_errors=True)
    os.makedirs(dist)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        built = list(pool.map(lambda r: build(root, r), RELEASES))
    files = [f for fs in built for f in fs]
    for pattern in ("pip-*.whl", "setuptools-*.whl", "wheel-*.whl"):
        found = glob.glob(os.path.join("/usr/share/python-wheels", pattern))
        if len(found) != 1:
            sys.exit(f"install-dists: want one /usr/share/python-wheels/{pattern}, found {found}"
                     " (Debian packages python3-pip-whl python3-setuptools-whl python3-wheel-whl)")
        files += found
    for f in files:
        shutil.copy(f, dist)
        print(f"{os.path.getsize(f):>9} {os.path.basename(f)}")


if __name__ == "__main__":
    main()
