"""Stage `toolchain`: find (or install) clang for wasm32, LLVM tools, wasm-opt, zip, Python 3.11."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from scripts import layout
from scripts.options import BuildOptions
from scripts.shell import StageError, output, run, say, which

MIN_CLANG = 15
BUILTINS = "libclang_rt.builtins-wasm32.a"
# The LLVM release installed when there is no clang (build-notes: LLVM 16 has
# a wasm32 compiler-rt package in Debian 12; 15 does not).
DEFAULT_LLVM = 16
# Debian/Ubuntu packages that provide each tool; {llvm} is the release of the
# clang found (its linker, tools and compiler-rt must be of the same release).
DEBIAN_PACKAGES = {
    "clang": "clang-{llvm}",
    "wasm-ld": "lld-{llvm}",
    "llvm-ar": "llvm-{llvm}",
    "llvm-nm": "llvm-{llvm}",
    "llvm-ranlib": "llvm-{llvm}",
    BUILTINS: "libclang-rt-{llvm}-dev-wasm32",
    "wasm-opt": "binaryen",
    "zip": "zip",
    "python3.11": "python3.11",
    "make": "make",
    "patch": "patch",
    # Generates the SQLite amalgamation from Debian's SQLite source tree.
    "tclsh": "tcl",
}
# (Toolchain field, tool, environment variable that names it instead).
LLVM_TOOLS = (("ar", "llvm-ar", "AR"), ("nm", "llvm-nm", "NM"), ("ranlib", "llvm-ranlib", "RL"),
              ("wasm_ld", "wasm-ld", "WASM_LD"))
CLANG_CANDIDATES = ("clang-16", "clang-17", "clang-18", "clang-19", "clang-15", "clang")


@dataclass(frozen=True)
class Toolchain:
    cc: str
    ar: str
    nm: str
    ranlib: str
    wasm_ld: str
    builtins: str
    wasm_opt: str
    zip: str
    build_python: str
    versions: dict[str, str]

    @property
    def fingerprint(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def clang_major(cc: str) -> int | None:
    try:
        text = output([cc, "--version"])
    except StageError:
        return None
    match = re.search(r"clang version (\d+)", text)
    return int(match.group(1)) if match else None


def find_clang(env: Mapping[str, str]) -> str | None:
    if env.get("CC"):
        # A bare name (CC=clang-19) is found on PATH, so that the LLVM tools
        # installed beside the compiler it links to can be found too.
        named = env["CC"]
        on_path = which(named) if os.sep not in named else None
        return str(on_path) if on_path else named
    if env.get("WASI_SDK_PATH"):
        return str(Path(env["WASI_SDK_PATH"]) / "bin" / "clang")
    for name in CLANG_CANDIDATES:
        path = which(name)
        if path and (clang_major(str(path)) or 0) >= MIN_CLANG:
            return str(path)
    return None


def llvm_tool(cc: str, major: int, name: str, env_name: str, env: Mapping[str, str]) -> str | None:
    """An LLVM tool from the environment, else the one of clang `cc`'s release (`major`).

    A tool of another release cannot read the compiler's bitcode (thin LTO
    archives and links), so the unversioned name on PATH (on Debian, the
    default LLVM's) comes last: the tool installed beside `cc`, then NAME-MAJOR.
    """
    if env.get(env_name):
        return env[env_name]
    beside = Path(cc).resolve().parent / name
    if beside.is_file():
        return str(beside)
    found = which(f"{name}-{major}") or which(name)
    return str(found) if found else None


def detect(env: Mapping[str, str]) -> tuple[Toolchain | None, list[str]]:
    """Return the toolchain, or None and the names of the missing tools."""
    missing: list[str] = []
    found: dict[str, str] = {}
    cc = find_clang(env)
    major = clang_major(cc) if cc else None
    if cc is None or major is None or major < MIN_CLANG:
        # The LLVM tools and compiler-rt are looked up beside clang, so without
        # it they cannot be found either: report them all, so that a machine
        # with nothing installs every package in one go.
        missing += ["clang", *(tool for _, tool, env_name in LLVM_TOOLS if not env.get(env_name)),
                    BUILTINS]
    else:
        found["cc"] = cc
        for key, tool, env_name in LLVM_TOOLS:
            path = llvm_tool(cc, major, tool, env_name, env)
            if path:
                found[key] = path
            else:
                missing.append(tool)
        builtins = output([cc, "--target=wasm32-wasi", "-rtlib=compiler-rt",
                           "-print-libgcc-file-name"])
        if Path(builtins).is_file():
            found["builtins"] = builtins
        else:
            missing.append(BUILTINS)
    for key, tool in (("wasm_opt", "wasm-opt"), ("zip", "zip"), ("build_python", "python3.11")):
        on_path = which(tool)
        if on_path:
            # Resolved, so a Nox virtualenv's python3.11 is recorded as the
            # interpreter behind it, which outlives the virtualenv.
            found[key] = str(on_path.resolve())
        else:
            missing.append(tool)
    # Used by name by the stages; only their presence matters.
    missing += [tool for tool in ("make", "patch", "tclsh") if which(tool) is None]
    if missing:
        return None, missing
    versions = {
        "clang": output([found["cc"], "--version"]).splitlines()[0],
        "wasm-opt": output([found["wasm_opt"], "--version"]),
        "python": output([found["build_python"], "--version"]),
    }
    return Toolchain(versions=versions, **found), []


def install_command(missing: Sequence[str], llvm: int = DEFAULT_LLVM) -> list[str]:
    packages = sorted({DEBIAN_PACKAGES[tool].format(llvm=llvm) for tool in missing})
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def can_install() -> list[str] | None:
    """The prefix that runs apt-get as root here, or None if that is not possible."""
    if which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return []
    if which("sudo") and os.system("sudo -n true 2>/dev/null") == 0:
        return ["sudo", "-n"]
    return None


def install(missing: Sequence[str], llvm: int = DEFAULT_LLVM) -> None:
    prefix = can_install()
    command = install_command(missing, llvm)
    if prefix is None:
        raise StageError(
            "missing tools: " + ", ".join(missing) + "\n"
            "install them with:\n    sudo " + shlex.join(command) + "\n"
            "or point CC/AR/NM/RL (or WASI_SDK_PATH) at an existing LLVM with a wasm32 target."
        )
    say(f"toolchain: missing {', '.join(missing)}; installing them from the distribution's packages")
    apt_env = {"DEBIAN_FRONTEND": "noninteractive"}
    # A fresh machine may have no package lists yet.
    run([*prefix, "apt-get", "update", "-q"], env=apt_env, log=layout.LOGS / "toolchain.log")
    run([*prefix, *command], env=apt_env, log=layout.LOGS / "toolchain.log")


def load() -> Toolchain:
    """The toolchain recorded by the toolchain stage."""
    if not layout.TOOLCHAIN_FILE.is_file():
        raise StageError(f"{layout.TOOLCHAIN_FILE} is missing: run `nox -s toolchain` first")
    data = json.loads(layout.TOOLCHAIN_FILE.read_text())
    return Toolchain(**data)


def llvm_release(env: Mapping[str, str]) -> int:
    """The LLVM release whose packages complete the toolchain: the clang found's, else the default."""
    cc = find_clang(env)
    major = clang_major(cc) if cc else None
    return major if major is not None and major >= MIN_CLANG else DEFAULT_LLVM


def build(options: BuildOptions) -> None:
    toolchain, missing = detect(os.environ)
    if toolchain is None:
        llvm = llvm_release(os.environ)
        install(missing, llvm)
        toolchain, still_missing = detect(os.environ)
        if toolchain is None:
            raise StageError(
                f"still missing after `{shlex.join(install_command(missing, llvm))}`: "
                + ", ".join(still_missing) + "\n"
                "install the package that provides each of them, or point CC/AR/NM/RL "
                "(or WASI_SDK_PATH) at an LLVM with a wasm32 target"
            )
    layout.BUILD.mkdir(exist_ok=True)
    temp = layout.TOOLCHAIN_FILE.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(toolchain), indent=2) + "\n")
    os.replace(temp, layout.TOOLCHAIN_FILE)
    for name, version in toolchain.versions.items():
        say(f"toolchain: {name}: {version}")
    say(f"toolchain: cc={toolchain.cc} ar={toolchain.ar} wasm-ld={toolchain.wasm_ld}")
