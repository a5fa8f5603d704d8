"""Give a fresh root filesystem this machine's way of reaching the package registries.

Used by .ci/run, as root, with the host's python3 (standard library only):

    python3 .ci/host_access.py apt-options      # apt's network options, as apt.conf lines
    python3 .ci/host_access.py copy ROOT        # set ROOT up; prints environment entries

`copy` puts into ROOT the machine's enabled apt sources (and the keyrings they
name), apt's network options, the CA bundles its tools are pointed at and the
CAs added to its trust store, its resolver configuration, and pip's settings
as /etc/pip.conf. It prints, NUL-separated, the KEY=VALUE environment entries
(pip's, proxies, CA paths) to run the README's commands with inside ROOT.
Everything is read from the machine at run time: no registry host is written
into the repository, and CI follows whatever this machine is configured with.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

APT = Path("/etc/apt")
# apt.conf settings that decide how apt reaches its mirrors (proxies,
# certificates, snapshot mirrors whose Release files have expired).
APT_NETWORK = re.compile(r"^Acquire::((http|https|ftp|socks)(::|\s)|"
                         r"(Check-Valid-Until|Check-Date|Retries|ForceIPv4|ForceIPv6)\s)")
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
# Environment variables that carry how to reach a registry.
PASSED_ENV = re.compile(r"^(PIP_\w+|(http|https|ftp|all|no)_proxy|(HTTP|HTTPS|FTP|ALL|NO)_PROXY|"
                        r"SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE)$")
# Its settings are already in the pip.conf written into the root.
PIP_NOT_PASSED = {"PIP_CONFIG_FILE"}


def apt_options() -> str:
    dump = subprocess.run(["apt-config", "dump"], check=True, capture_output=True, text=True).stdout
    return "".join(line + "\n" for line in dump.splitlines() if APT_NETWORK.match(line))


def copy_file(path: Path, root: Path) -> None:
    target = root / path.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)


def local_path(word: str) -> Path | None:
    """The host path a setting names (an absolute path or a file: URL), else None."""
    if word.startswith("file:"):
        return Path(unquote(urlparse(word).path))
    return Path(word) if word.startswith("/") else None


def portable(value: str, root: Path) -> str:
    """`value` with the host paths it names made valid in `root`.

    Files (a CA bundle, a constraints file) are copied to the same path in
    `root`. A directory that `root` lacks, such as a local wheel mirror, is a
    shortcut of this machine, not a registry: it is dropped, and the fresh
    root has to reach the registries themselves, as a new machine would.
    """
    kept = []
    for word in value.split():
        path = local_path(word)
        if path is None or (root / path.relative_to("/")).is_dir():
            kept.append(word)
        elif path.is_file():
            copy_file(path, root)
            kept.append(word)
    return " ".join(kept)


def copy_apt(root: Path) -> None:
    target = root / "etc/apt"
    (target / "sources.list").unlink(missing_ok=True)
    for old in (target / "sources.list.d").glob("*"):
        old.unlink()
    # The same files apt reads: other suffixes (.disabled, .save) are not sources.
    sources = [APT / "sources.list", *sorted((APT / "sources.list.d").glob("*.list")),
               *sorted((APT / "sources.list.d").glob("*.sources"))]
    for path in sources:
        if path.is_file():
            copy_file(path, root)
            for keyring in re.findall(r"(?:Signed-By:\s*|signed-by=)(/[^\s\]]+)", path.read_text()):
                if Path(keyring).is_file() and not (root / keyring.lstrip("/")).exists():
                    copy_file(Path(keyring), root)
    # mmdebstrap keeps the options the root was created with in this file;
    # today's options replace them.
    (target / "apt.conf.d/99mmdebstrap").write_text(apt_options())


def copy_trust(root: Path) -> None:
    """The host's trust store, so TLS through this machine's network verifies as on the host."""
    if LOCAL_CAS.is_dir():
        # Kept where update-ca-certificates finds them, should a package
        # installed in the root regenerate the bundle.
        shutil.copytree(LOCAL_CAS, root / LOCAL_CAS.relative_to("/"), dirs_exist_ok=True)
    if SYSTEM_CA_BUNDLE.is_file():
        copy_file(SYSTEM_CA_BUNDLE, root)


def copy_resolver(root: Path) -> None:
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)  # it may be a symlink into a resolver's run directory
    resolv.write_text(Path("/etc/resolv.conf").read_text())


def pip_settings() -> dict[str, str]:
    """pip's settings from its configuration files, merged, as section.key -> value.

    Settings from PIP_* variables (listed as `:env:.key`) are left out: those
    variables are passed on themselves. Without pip there is nothing to carry.
    """
    result = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                            check=False, capture_output=True, text=True)
    settings = {}
    for line in result.stdout.splitlines() if result.returncode == 0 else []:
        name, _, quoted = line.partition("=")  # pip prints section.key=repr(value)
        if "." in name and not name.startswith(":env:"):
            settings[name] = str(ast.literal_eval(quoted))
    return settings


def copy_pip(root: Path) -> None:
    sections: dict[str, list[str]] = {}
    for name, value in pip_settings().items():
        section, _, key = name.partition(".")
        value = portable(value, root)
        if value:
            sections.setdefault(section, []).append(f"{key} = {value}")
    text = "".join(f"[{section}]\n" + "".join(f"{line}\n" for line in lines) + "\n"
                   for section, lines in sections.items())
    (root / "etc/pip.conf").write_text(text)


def environment(root: Path) -> list[str]:
    entries = []
    for name, value in sorted(os.environ.items()):
        if PASSED_ENV.match(name) and name not in PIP_NOT_PASSED:
            value = portable(value, root)
            if value:
                entries.append(f"{name}={value}")
    return entries


def main(argv: list[str]) -> int:
    if argv == ["apt-options"]:
        sys.stdout.write(apt_options())
        return 0
    if len(argv) == 2 and argv[0] == "copy" and Path(argv[1], "etc/apt").is_dir():
        root = Path(argv[1])
        copy_apt(root)
        copy_trust(root)
        copy_resolver(root)
        copy_pip(root)
        sys.stdout.write("".join(entry + "\0" for entry in environment(root)))
        return 0
    sys.stderr.write("usage: host_access.py apt-options | copy ROOT (a Debian root filesystem)\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
