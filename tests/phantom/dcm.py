"""Small DICOM helpers for the m3-phantom tests: explicit VR little endian only, numpy only.

Read on purpose without GDCM or m3-decode, so that the tests check m3-phantom's files
against an independent reader.
"""
import struct
import zlib

import numpy as np

LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"}


def _elements(buf, pos, end, out, depth):
    """Parses explicit VR LE elements from buf[pos:end] into out (top level only)."""
    while pos < end:
        group, elem = struct.unpack_from("<HH", buf, pos)
        if group == 0xFFFE:  # item or delimiter
            length = struct.unpack_from("<I", buf, pos + 4)[0]
            pos += 8
            if elem == 0xE00D or elem == 0xE0DD:
                return pos
            if length == 0xFFFFFFFF:
                pos = _elements(buf, pos, len(buf), None, depth + 1)
            else:
                _elements(buf, pos, pos + length, None, depth + 1)
                pos += length
            continue
        vr = buf[pos + 4:pos + 6]
        if vr in LONG_VRS:
            length = struct.unpack_from("<I", buf, pos + 8)[0]
            pos += 12
        else:
            length = struct.unpack_from("<H", buf, pos + 6)[0]
            pos += 8
        tag = (group << 16) | elem
        if length == 0xFFFFFFFF:
            if vr != b"SQ" and tag != 0x7FE00010:
                raise ValueError("undefined length outside a sequence")
            if tag == 0x7FE00010:
                if out is not None:
                    out[tag] = (vr, None)
                return len(buf)
            pos = _elements(buf, pos, len(buf), None, depth + 1)
            continue
        if out is not None:
            out[tag] = (vr, buf[pos:pos + length])
        pos += length
    return pos


def read(path):
    """The top-level elements of a DICOM file: {tag: (vr, bytes)}, with the meta group."""
    buf = open(path, "rb").read()
    if buf[128:132] != b"DICM":
        raise ValueError(path + ": no DICM preamble")
    out = {}
    _elements(buf, 132, len(buf), out, 0)
    return out


def _tree(buf, pos, end):
    """Explicit VR LE elements of buf[pos:end] into a dict, sequences as lists of such
    dicts; stops after an item delimiter.  Returns (dict, position after it)."""
    out = {}
    while pos < end:
        group, elem = struct.unpack_from("<HH", buf, pos)
        if group == 0xFFFE:
            if elem != 0xE00D:
                raise ValueError("item or sequence delimiter outside a sequence")
            return out, pos + 8
        vr = buf[pos + 4:pos + 6]
        if vr in LONG_VRS:
            length = struct.unpack_from("<I", buf, pos + 8)[0]
            pos += 12
        else:
            length = struct.unpack_from("<H", buf, pos + 6)[0]
            pos += 8
        tag = (group << 16) | elem
        if vr == b"SQ":
            items, pos = _items(buf, pos, length)
            out[tag] = (vr, items)
        elif length == 0xFFFFFFFF:
            if tag != 0x7FE00010:
                raise ValueError("undefined length outside a sequence")
            out[tag] = (vr, None)  # encapsulated pixel data
            return out, len(buf)
        else:
            out[tag] = (vr, buf[pos:pos + length])
            pos += length
    return out, pos


def _items(buf, pos, length):
    items = []
    end = len(buf) if length == 0xFFFFFFFF else pos + length
    while pos < end:
        group, elem, ilen = struct.unpack_from("<HHI", buf, pos)
        pos += 8
        if (group, elem) == (0xFFFE, 0xE0DD):
            return items, pos
        if (group, elem) != (0xFFFE, 0xE000):
            raise ValueError("not an item in a sequence")
        if ilen == 0xFFFFFFFF:
            item, pos = _tree(buf, pos, len(buf))
        else:
            item, _ = _tree(buf, pos, pos + ilen)
            pos += ilen
        items.append(item)
    if length == 0xFFFFFFFF:
        raise ValueError("sequence not closed")
    return items, pos


def read_tree(path):
    """Like read, with every sequence parsed: {tag: (vr, bytes or [item dict, ...])}."""
    buf = open(path, "rb").read()
    if buf[128:132] != b"DICM":
        raise ValueError(path + ": no DICM preamble")
    return _tree(buf, 132, len(buf))[0]


def item(ds, *tags):
    """The first item of each nested sequence in turn: item(ds, shared, pixel_measures)."""
    for t in tags:
        ds = ds[t][1][0]
    return ds


def ul(ds, tag):
    n = len(ds[tag][1]) // 4
    return list(struct.unpack("<%dI" % n, ds[tag][1]))


def fragments(path):
    """The lengths of the fragments of encapsulated pixel data, the basic offset table left out."""
    buf = open(path, "rb").read()
    pos = buf.rfind(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff")
    if pos < 0:
        raise ValueError(path + ": no encapsulated pixel data")
    pos += 12
    out = []
    while True:
        group, elem, length = struct.unpack_from("<HHI", buf, pos)
        pos += 8
        if (group, elem) == (0xFFFE, 0xE0DD):
            return out[1:]
        if (group, elem) != (0xFFFE, 0xE000):
            raise ValueError(path + ": not an item in the pixel data")
        out.append(length)
        pos += length


def text(ds, tag):
    return ds[tag][1].decode("ascii").rstrip(" \0")


def us(ds, tag):
    return struct.unpack("<H", ds[tag][1])[0]


def pixels(path):
    """The stored pixel array (rows, columns) of an uncompressed single-frame file."""
    ds = read(path)
    rows, cols = us(ds, 0x00280010), us(ds, 0x00280011)
    bits, signed = us(ds, 0x00280100), us(ds, 0x00280103)
    frames = int(text(ds, 0x00280008)) if 0x00280008 in ds else 1
    dt = {(16, 0): "<u2", (16, 1): "<i2", (8, 0): "u1"}[(bits, signed)]
    data = ds[0x7FE00010][1]
    if data is None:
        raise ValueError(path + ": compressed pixel data")
    a = np.frombuffer(data, dtype=dt, count=rows * cols * frames)
    return a.reshape((frames, rows, cols)) if frames > 1 else a.reshape((rows, cols))


def write_png(path, img8):
    """An 8-bit grey PNG written by hand (zlib only)."""
    h, w = img8.shape
    raw = b"".join(b"\0" + img8[y].tobytes() for y in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def window(a, centre, width):
    lo = centre - width / 2.0
    return (np.clip((a.astype(np.float64) - lo) / width, 0, 1) * 255 + 0.5).astype(np.uint8)


def downscale(a, k):
    """Mean over k x k blocks."""
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    return a[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
