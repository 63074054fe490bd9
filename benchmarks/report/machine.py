"""machine.py — describes the machine and the allocator builds a benchmark run used.

Everything is read from the system at run time (/proc, uname, dpkg), so the
summary says exactly where its numbers come from.
"""
import hashlib
import os
import platform
import subprocess


def _command_output(args):
    """Stripped stdout of a command, or None when it fails or does not exist."""
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_model():
    """The CPU model name from /proc/cpuinfo (first processor)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total():
    """MemTotal from /proc/meminfo, as printed there (e.g. '8147520 kB')."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def package_version(path):
    """'package version' of the Debian package that installed path, or None."""
    owner = _command_output(["dpkg-query", "-S", os.path.realpath(path)])
    if not owner:
        owner = _command_output(["dpkg-query", "-S", path])
    if not owner:
        return None
    package = owner.split(":")[0].split(",")[0].strip()
    version = _command_output(["dpkg-query", "-W", "-f", "${Version}", package])
    return f"{package} {version}" if version else package


def pagoda_version(root, lib):
    """pagoda's version from include/pagoda.h, the git revision of the tree and a
    hash of the shared object itself (builds of an uncommitted tree differ)."""
    parts = {}
    try:
        with open(os.path.join(root, "include", "pagoda.h")) as f:
            for line in f:
                words = line.split()
                if len(words) == 3 and words[0] == "#define" and words[1].startswith("PAGODA_VERSION_"):
                    parts[words[1]] = words[2]
    except OSError:
        pass
    version = ".".join(parts.get(f"PAGODA_VERSION_{k}", "?") for k in ("MAJOR", "MINOR", "PATCH"))
    revision = _command_output(["git", "-C", root, "describe", "--always", "--dirty"])
    with open(lib, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    source = f"git {revision}" if revision else "no git commit yet"
    return f"pagoda {version} ({source}; {os.path.basename(lib)} sha256 {digest})"


def glibc_version():
    """The C library's name and version, e.g. 'glibc 2.36'."""
    if "CS_GNU_LIBC_VERSION" in os.confstr_names:
        return os.confstr("CS_GNU_LIBC_VERSION")
    return "unknown"


def allocator_version(name, preload, root):
    """What exactly was measured as allocator `name`, preloaded from `preload`."""
    if name == "pagoda":
        return pagoda_version(root, preload)
    if preload:
        return package_version(preload) or "version unknown"
    return glibc_version()


def describe():
    """Ordered (label, value) pairs describing this machine."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("CPUs (nproc)", str(len(os.sched_getaffinity(0)))),
        ("CPU model", cpu_model()),
        ("Memory", memory_total()),
        ("Kernel", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("C library", glibc_version()),
        ("Load average at start", load),
    ]
