"""Every kind of file a user may drop: a clear ImageError or a correct RGB array, never a crash."""
import contextlib
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from dldl_core.data.images import ImageError, load_rgb


def _encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("data,match", [
    (b"", "not an image"),
    (b"this is plain text renamed to .jpg", "not an image"),
])
def test_non_images_are_refused(tmp_path, data, match):
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=match):
        load_rgb(path)


def test_truncated_jpeg(grace_hopper_path):
    data = grace_hopper_path.read_bytes()
    with pytest.raises(ImageError, match="could not be decoded"):
        load_rgb(data[: len(data) // 3], "cut.jpg")


def test_decompression_bomb_is_refused_before_decoding():
    bomb = _encode(Image.new("L", (20000, 20000)), "PNG", optimize=True)
    assert len(bomb) < 2_000_000
    with pytest.raises(ImageError, match="too large"):
        load_rgb(bomb, "bomb.png")


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_rgb(tmp_path / "nope.jpg")


@pytest.mark.parametrize("mode,fmt", [("RGBA", "PNG"), ("LA", "PNG"), ("L", "PNG"), ("CMYK", "JPEG"), ("P", "GIF"),
                                      ("I;16", "PNG"), ("1", "PNG")])
def test_every_mode_becomes_rgb(mode, fmt):
    image = Image.new(mode, (16, 12))
    rgb = load_rgb(_encode(image, fmt))
    assert rgb.shape == (12, 16, 3) and rgb.dtype == np.uint8


def test_sixteen_bit_keeps_its_contrast():
    ramp = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (8, 1))
    rgb = load_rgb(_encode(Image.fromarray(ramp), "PNG"))
    assert rgb[0, 0, 0] == 0 and rgb[0, -1, 0] == 255


def test_rgba_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red
    assert load_rgb(_encode(rgba, "PNG"))[0, 0].tolist() == [255, 255, 255]


def test_one_pixel_image():
    assert load_rgb(_encode(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG")).tolist() == [[[1, 2, 3]]]


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    assert load_rgb(buf.getvalue())[0, 0].tolist() == [255, 0, 0]


def test_exif_orientation_is_honoured():
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 20, 20))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    rgb = load_rgb(_encode(image, "JPEG", exif=exif.tobytes(), quality=95))
    assert rgb.shape == (40, 20, 3)
    assert rgb[5, 10].mean() > 200 and rgb[35, 10].mean() < 50  # white ends up on top


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes_never_crash(data):
    try:
        rgb = load_rgb(data, "fuzz")
    except ImageError:
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 4000), st.integers(0, 255))
def test_fuzz_corrupted_jpeg_never_crashes(grace_hopper_path, position, value):
    data = bytearray(grace_hopper_path.read_bytes())
    data[position] = value
    with contextlib.suppress(ImageError):
        load_rgb(bytes(data), "corrupt.jpg")


def _seed_files() -> dict[str, bytes]:
    """Small real files (Grace Hopper at 64x75) in every format the app accepts, the JPEG and TIFF with EXIF."""
    from matplotlib import cbook

    photo = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB").reduce(8)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "Camera"  # Make
    return {"jpeg": _encode(photo, "JPEG", quality=90, exif=exif.tobytes()),
            "tiff": _encode(photo, "TIFF", exif=exif.tobytes()),
            "png": _encode(photo, "PNG"),
            "png16": _encode(Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257), "PNG"),
            "gif": _encode(photo.quantize(64), "GIF", save_all=True, append_images=[photo.rotate(90).quantize(64)]),
            "webp": _encode(photo, "WEBP"),
            "bmp": _encode(photo, "BMP")}


SEEDS = _seed_files()


def _load_or_image_error(data: bytes) -> None:
    """The loading contract: an (H, W, 3) uint8 array or an ImageError of one line, nothing else."""
    try:
        rgb = load_rgb(data, "mutated")
    except ImageError as err:
        assert str(err).startswith("mutated") and "\n" not in str(err)
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8 and rgb.size > 0


@pytest.mark.parametrize("kind", ["jpeg", "tiff"])
def test_every_bit_flip_in_the_header_gives_an_array_or_an_image_error(kind):
    """Exhaustive over the first 128 bytes (the EXIF block and the TIFF directory): these flips once escaped as a
    struct.error (JPEG EXIF, byte 41) and a TypeError (TIFF strip offsets, byte 84)."""
    data = SEEDS[kind]
    for position in range(128):
        for bit in range(8):
            mutated = bytearray(data)
            mutated[position] ^= 1 << bit
            _load_or_image_error(bytes(mutated))


@st.composite
def mutated_files(draw):
    """A real file with one to four mutations: truncation, bit flips, overwritten runs, a splice of another
    format's bytes, inserted or deleted bytes."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "overwrite", "splice", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "truncate":
            data = data[:at]
        elif op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite":
            run = draw(st.binary(min_size=1, max_size=16))
            data[at:at + len(run)] = run
        elif op == "splice":
            other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
            data = data[:at] + other[draw(st.integers(0, len(other) - 1)):]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(mutated_files())
def test_fuzz_mutated_real_files_give_an_array_or_an_image_error(data):
    import time

    start = time.perf_counter()
    _load_or_image_error(data)
    assert time.perf_counter() - start < 5  # small files: a slow decode would mean a pathological loop
