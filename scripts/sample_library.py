#!/usr/bin/env python3
"""Write a small sample photo library for `make demo`: albums as folders, real PNG and JPEG files.

Python standard library only (zlib + struct): the PNG writer and the baseline JPEG encoder below
are self-contained, so no PIL, ImageMagick or network is needed. The output is deterministic
(same bytes on every run) and every image is distinct, so each one becomes its own asset.

Usage: sample_library.py OUT_DIR
"""

import math
import os
import random
import struct
import sys
import zlib
from datetime import datetime, timezone

WIDTH, HEIGHT = 240, 160

# album folder -> (theme, first capture date)
ALBUMS = [
    ("Beach 2024", "beach", datetime(2024, 7, 14, 10, 0, tzinfo=timezone.utc)),
    ("Mountains", "mountains", datetime(2023, 9, 2, 8, 30, tzinfo=timezone.utc)),
    ("Garden", "garden", datetime(2024, 4, 21, 16, 0, tzinfo=timezone.utc)),
    ("Abstract", "abstract", datetime(2022, 12, 24, 20, 0, tzinfo=timezone.utc)),
]
PER_ALBUM = 5


# ---------------------------------------------------------------------------------------------
# drawing: an image is a list of rows, a row is a list of (r, g, b)
# ---------------------------------------------------------------------------------------------


def clamp(v):
    return 0 if v < 0 else 255 if v > 255 else int(v)


def lerp(a, b, t):
    return tuple(clamp(a[i] + (b[i] - a[i]) * t) for i in range(3))


def vertical_gradient(top, bottom):
    rows = []
    for y in range(HEIGHT):
        c = lerp(top, bottom, y / (HEIGHT - 1))
        rows.append([c] * WIDTH)
    return rows


def disc(img, cx, cy, r, color):
    for y in range(max(0, int(cy - r)), min(HEIGHT, int(cy + r) + 1)):
        row = img[y]
        for x in range(max(0, int(cx - r)), min(WIDTH, int(cx + r) + 1)):
            if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                row[x] = color


def fill_below(img, height_at, color_at):
    """Paint every pixel below the curve y = height_at(x)."""
    for x in range(WIDTH):
        h = int(height_at(x))
        for y in range(max(0, h), HEIGHT):
            img[y][x] = color_at(x, y)


def draw_beach(rng):
    img = vertical_gradient((40 + rng.randint(0, 40), 120, 220), (200, 230, 255))
    disc(img, rng.randint(30, WIDTH - 30), rng.randint(15, 50), rng.randint(12, 22), (255, 220, 90))
    sea = HEIGHT * rng.uniform(0.5, 0.6)
    phase = rng.uniform(0, 6.28)
    fill_below(img, lambda x: sea + 2 * math.sin(x / 9 + phase),
               lambda x, y: lerp((20, 90, 170), (40, 150, 200), (y - sea) / (HEIGHT - sea)))
    sand = HEIGHT * rng.uniform(0.75, 0.85)
    fill_below(img, lambda x: sand + 6 * math.sin(x / 40 + phase),
               lambda x, y: (230, 205 - (y % 3) * 4, 150))
    return img


def draw_mountains(rng):
    img = vertical_gradient((90, 140, 210), (230, 200, 180))
    for layer in range(3):
        base = HEIGHT * (0.45 + 0.15 * layer)
        peaks = [(rng.randint(0, WIDTH), rng.randint(20, 60)) for _ in range(3)]
        shade = 60 + 40 * layer

        def height_at(x, base=base, peaks=peaks):
            return base - max(max(0, h - abs(x - px) * 0.8) for px, h in peaks)

        fill_below(img, height_at, lambda x, y, s=shade: (s - 20, s, s + 10))
        # snow caps on the far range
        if layer == 0:
            for px, h in peaks:
                for y in range(int(base - h), int(base - h + 10)):
                    for x in range(px - 6, px + 7):
                        if 0 <= x < WIDTH and 0 <= y < HEIGHT and y >= height_at(x):
                            img[y][x] = (245, 245, 250)
    return img


def draw_garden(rng):
    img = vertical_gradient((150, 200, 240), (60, 140, 60))
    fill_below(img, lambda x: HEIGHT * 0.55, lambda x, y: (40 + (x * y) % 20, 120 + (y % 7) * 5, 40))
    for _ in range(rng.randint(6, 12)):
        cx, cy = rng.randint(10, WIDTH - 10), rng.randint(int(HEIGHT * 0.5), HEIGHT - 10)
        petal = (rng.randint(180, 255), rng.randint(40, 200), rng.randint(60, 220))
        r = rng.randint(5, 10)
        for k in range(5):
            a = k * 2 * math.pi / 5
            disc(img, cx + r * math.cos(a), cy + r * math.sin(a), r * 0.7, petal)
        disc(img, cx, cy, r * 0.5, (250, 210, 40))
    return img


def draw_abstract(rng):
    c1 = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
    c2 = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
    fx, fy = rng.uniform(0.02, 0.08), rng.uniform(0.02, 0.08)
    rows = []
    for y in range(HEIGHT):
        rows.append([lerp(c1, c2, 0.5 + 0.5 * math.sin(x * fx + math.cos(y * fy) * 3)) for x in range(WIDTH)])
    for _ in range(4):
        disc(rows, rng.randint(0, WIDTH), rng.randint(0, HEIGHT), rng.randint(8, 30),
             (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    return rows


DRAW = {"beach": draw_beach, "mountains": draw_mountains, "garden": draw_garden, "abstract": draw_abstract}


# ---------------------------------------------------------------------------------------------
# PNG (RFC 2083): 8-bit truecolour, filter 0
# ---------------------------------------------------------------------------------------------


def png_bytes(img):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = bytearray()
    for row in img:
        raw.append(0)
        for px in row:
            raw.extend(px)
    ihdr = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------
# JPEG (ITU T.81): baseline sequential DCT, 4:4:4, JFIF
# The Huffman tables are flat (every AC symbol 8 bits, every DC symbol 4 bits): valid JPEG and
# simple, at some cost in file size.
# ---------------------------------------------------------------------------------------------

ZIGZAG = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]

# Annex K.1 example tables (natural order)
LUMA_Q = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]
CHROMA_Q = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
] + [99] * 32

DC_SYMBOLS = list(range(12))
AC_SYMBOLS = [0x00, 0xF0] + [(run << 4) | size for run in range(16) for size in range(1, 11)]

COS = [[math.cos((2 * x + 1) * u * math.pi / 16) * (math.sqrt(0.5) if u == 0 else 1.0) / 2
        for x in range(8)] for u in range(8)]


def scaled_q(table, quality):
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return [max(1, min(255, (q * scale + 50) // 100)) for q in table]


def flat_huffman(symbols, length):
    """Canonical codes, all of one length: symbol -> (code, length)."""
    assert len(symbols) < (1 << length)  # the all-ones code stays unused
    return {s: (i, length) for i, s in enumerate(symbols)}


def dht_segment(table_class, table_id, symbols, length):
    bits = [0] * 16
    bits[length - 1] = len(symbols)
    body = bytes([(table_class << 4) | table_id]) + bytes(bits) + bytes(symbols)
    return b"\xff\xc4" + struct.pack(">H", len(body) + 2) + body


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def write(self, value, length):
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0x00)  # byte stuffing
        self.acc &= (1 << self.n) - 1

    def flush(self):
        if self.n:
            self.write((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1 bits


def fdct(block):
    """8x8 forward DCT (separable), block in natural order, values level-shifted."""
    rows = [[sum(COS[u][x] * block[y * 8 + x] for x in range(8)) for u in range(8)] for y in range(8)]
    return [sum(COS[v][y] * rows[y][u] for y in range(8)) for v in range(8) for u in range(8)]


def magnitude(v):
    size = abs(v).bit_length()
    bits = v if v >= 0 else v + (1 << size) - 1
    return size, bits


def jpeg_bytes(img, quality=88):
    qs = [scaled_q(LUMA_Q, quality), scaled_q(CHROMA_Q, quality)]
    dc_codes = flat_huffman(DC_SYMBOLS, 4)
    ac_codes = flat_huffman(AC_SYMBOLS, 8)

    # colour conversion (JFIF YCbCr), edge-padded to a multiple of 8
    pw, ph = (WIDTH + 7) // 8 * 8, (HEIGHT + 7) // 8 * 8
    planes = [[0.0] * (pw * ph) for _ in range(3)]
    for y in range(ph):
        row = img[min(y, HEIGHT - 1)]
        for x in range(pw):
            r, g, b = row[min(x, WIDTH - 1)]
            i = y * pw + x
            planes[0][i] = 0.299 * r + 0.587 * g + 0.114 * b - 128
            planes[1][i] = -0.168736 * r - 0.331264 * g + 0.5 * b
            planes[2][i] = 0.5 * r - 0.418688 * g - 0.081312 * b

    bw = BitWriter()
    pred = [0, 0, 0]
    for by in range(0, ph, 8):
        for bx in range(0, pw, 8):
            for c in range(3):  # one MCU = Y, Cb, Cr blocks (no subsampling)
                plane = planes[c]
                block = [plane[(by + y) * pw + bx + x] for y in range(8) for x in range(8)]
                coef = fdct(block)
                q = qs[0 if c == 0 else 1]
                zz = [int(round(coef[ZIGZAG[k]] / q[ZIGZAG[k]])) for k in range(64)]
                # DC
                diff = zz[0] - pred[c]
                pred[c] = zz[0]
                size, bits = magnitude(diff)
                bw.write(*dc_codes[size])
                if size:
                    bw.write(bits, size)
                # AC
                run = 0
                for k in range(1, 64):
                    v = zz[k]
                    if v == 0:
                        run += 1
                        continue
                    while run > 15:
                        bw.write(*ac_codes[0xF0])
                        run -= 16
                    size, bits = magnitude(v)
                    bw.write(*ac_codes[(run << 4) | size])
                    bw.write(bits, size)
                    run = 0
                if run:
                    bw.write(*ac_codes[0x00])  # EOB
    bw.flush()

    out = bytearray(b"\xff\xd8")
    app0 = b"JFIF\x00" + bytes([1, 1, 0]) + struct.pack(">HH", 1, 1) + b"\x00\x00"
    out += b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0
    for tid, q in enumerate(qs):
        body = bytes([tid]) + bytes(q[ZIGZAG[k]] for k in range(64))
        out += b"\xff\xdb" + struct.pack(">H", len(body) + 2) + body
    sof = struct.pack(">BHHB", 8, HEIGHT, WIDTH, 3) + bytes([1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1])
    out += b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof
    out += dht_segment(0, 0, DC_SYMBOLS, 4) + dht_segment(1, 0, AC_SYMBOLS, 8)
    sos = bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    out += b"\xff\xda" + struct.pack(">H", len(sos) + 2) + sos
    out += bw.out + b"\xff\xd9"
    return bytes(out)


# ---------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    root = sys.argv[1]
    count = 0
    for album, theme, start in ALBUMS:
        folder = os.path.join(root, album)
        os.makedirs(folder, exist_ok=True)
        for i in range(PER_ALBUM):
            rng = random.Random(f"{album}/{i}")
            img = DRAW[theme](rng)
            if i % 2 == 0:
                name, data = f"IMG_{i + 1:04d}.jpg", jpeg_bytes(img)
            else:
                name, data = f"IMG_{i + 1:04d}.png", png_bytes(img)
            path = os.path.join(folder, name)
            with open(path, "wb") as f:
                f.write(data)
            # spread the capture times over the trip/day so the timeline is not one instant
            ts = start.timestamp() + i * 3600 * 5
            os.utime(path, (ts, ts))
            count += 1
    print(f"sample library: {count} images in {len(ALBUMS)} albums under {root}")


if __name__ == "__main__":
    main()
