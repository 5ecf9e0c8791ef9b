#!/usr/bin/env python3
"""Writes the pause image (an oci-archive, linux/amd64 + arm64 + arm/v7) from unpacked catatonit packages.

Usage: make_pause_image.py UNPACKED_DIR OUT_TAR NAME
UNPACKED_DIR holds amd64/, arm64/, armhf/, each a `dpkg-deb -x` of catatonit (a static binary).
Deterministic like the busybox fixtures: it reuses their tar/JSON writers (tests/fixtures/make_images.py).
"""
import gzip, io, os, sys, tarfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures"))
from make_images import (EPOCH, CREATED, LAYER,  # noqa: E402
                         write_tar, layout_files, multi_platform_index, platform_image)

def layer(catatonit):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, mode, data in (("catatonit", 0o755, catatonit),):
            ti = tarfile.TarInfo(name)
            ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname, ti.size = mode, EPOCH, 0, 0, "", "", len(data)
            t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as g:
        g.write(raw)
    return raw, out.getvalue()

def image(unpacked, arch, variant):
    raw, blob = layer(open(os.path.join(unpacked, "usr", "bin", "catatonit"), "rb").read())
    # catatonit -P: pause mode (sleeps until a signal ends it), like Kubernetes' pause.
    blobs, desc, _ = platform_image(arch, variant, CREATED, {"Entrypoint": ["/catatonit", "-P"], "User": "65535:65535"},
                                    raw, blob, LAYER + "+gzip")
    return blobs, desc

def main():
    src, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
    blobs, descs = {}, []
    for unpacked, arch, variant in (("amd64", "amd64", None), ("arm64", "arm64", None), ("armhf", "arm", "v7")):
        b, d = image(os.path.join(src, unpacked), arch, variant)
        blobs.update(b)
        descs.append(d)
    write_tar(out, layout_files(blobs, multi_platform_index(blobs, descs, name)))

if __name__ == "__main__":
    main()
