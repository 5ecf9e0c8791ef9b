#!/usr/bin/env python3
"""Writes the runtime release (an oci-archive with one image index: a manifest per platform) from published programs.

Usage: make_runtime_image.py OUT_TAR NAME:TAG FULL_VERSION ARCH=DIR...
ARCH is amd64, arm64 or armv7; DIR holds what publish.sh published for it (appliance-runtime, appliance-firstboot and
the native libraries beside them). Each platform's one layer puts DIR's files at usr/lib/appliance/. FULL_VERSION (what
the programs print for --version) is the config's org.opencontainers.image.version label.
Deterministic like the busybox fixtures and the pause kit: it reuses their tar/JSON writers (tests/fixtures/make_images.py).
"""
import gzip, io, os, sys, tarfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures"))
from make_images import (EPOCH, LAYER,  # noqa: E402
                         write_tar, layout_files, multi_platform_index, platform_image)

PLATFORMS = {"amd64": ("amd64", None), "arm64": ("arm64", None), "armv7": ("arm", "v7")}
PREFIX = "usr/lib/appliance"

def layer(directory):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, type_, mode, data=b""):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = type_, mode, EPOCH, 0, 0, "", ""
            ti.size = len(data) if type_ == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if type_ == tarfile.REGTYPE else None)
        for d in ("usr", "usr/lib", PREFIX):
            add(d, tarfile.DIRTYPE, 0o755)
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if not os.path.isfile(path) or os.path.islink(path):
                sys.exit(f"make_runtime_image.py: {path} is not a plain file")
            add(f"{PREFIX}/{name}", tarfile.REGTYPE, 0o755 if os.access(path, os.X_OK) else 0o644,
                open(path, "rb").read())
    raw = buf.getvalue()
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(raw)
    return raw, out.getvalue()

def image(directory, arch, full_version):
    architecture, variant = PLATFORMS[arch]
    for program in ("appliance-runtime", "appliance-firstboot"):
        if not os.path.isfile(os.path.join(directory, program)):
            sys.exit(f"make_runtime_image.py: {directory} has no {program}")
    raw, blob = layer(directory)
    blobs, desc, _ = platform_image(architecture, variant, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH)),
                                    {"Labels": {"org.opencontainers.image.version": full_version}}, raw, blob, LAYER + "+gzip")
    return blobs, desc

def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    out, name, full_version = sys.argv[1], sys.argv[2], sys.argv[3]
    blobs, descs = {}, []
    for spec in sys.argv[4:]:
        arch, _, directory = spec.partition("=")
        if arch not in PLATFORMS:
            sys.exit(f"make_runtime_image.py: unknown architecture '{arch}' (expected amd64, arm64 or armv7)")
        b, d = image(directory, arch, full_version)
        blobs.update(b)
        descs.append(d)
    write_tar(out, layout_files(blobs, multi_platform_index(blobs, descs, name)))

if __name__ == "__main__":
    main()
