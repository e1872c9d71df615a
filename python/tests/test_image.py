"""chiprt.Image: pack, load, construct from bytes, inspect (the CLI's JSON), bytes()."""
import json
import os
import subprocess

import pytest

import chiprt
from helpers import CLI, EXAMPLES_SO, copy_image, vector_image


def test_pack_inspect_matches_the_cli(tmp_path):
    image = vector_image("packed")
    path = tmp_path / "v.chipimg"
    path.write_bytes(bytes(image))
    cli = json.loads(subprocess.run([CLI, "inspect", "--json", str(path)], check=True,
                                    capture_output=True, text=True).stdout)
    assert image.inspect() == cli
    assert cli["name"] == "packed" and [c["func_id"] for c in cli["children"]] == [1, 2, 3]
    assert {c["core"] for c in cli["children"]} == {"aiv"}


def test_load_and_bytes_round_trip(tmp_path):
    image = copy_image("round-trip")
    path = tmp_path / "c.chipimg"
    path.write_bytes(bytes(image))
    loaded = chiprt.Image.load(path)
    assert bytes(loaded) == bytes(image) and len(loaded) == len(bytes(image))
    assert loaded.name == "round-trip" and loaded.hash == image.hash
    for data in (bytes(image), bytearray(bytes(image)), memoryview(bytes(image))):
        assert chiprt.Image(data).inspect() == image.inspect()
    assert bytes(memoryview(image)) == bytes(image)  # the buffer protocol, no copy


def test_a_malformed_image_is_invalid_image():
    with pytest.raises(chiprt.InvalidImage) as e:
        chiprt.Image(b"\x00" * 100)
    assert e.value.code.startswith("image_")
    assert isinstance(e.value, chiprt.ChiprtError)
    broken = bytearray(bytes(copy_image()))
    broken[-1] ^= 0xFF
    with pytest.raises(chiprt.InvalidImage, match="image_hash_mismatch"):
        chiprt.Image(broken)


def test_pack_errors(tmp_path):
    with pytest.raises(ValueError, match="core 'gpu'"):
        chiprt.Image.pack(orch=tmp_path / "o.so", kernels=[(1, "gpu", "k.so")])
    with pytest.raises(chiprt.ChiprtError) as e:
        chiprt.Image.pack(orch=tmp_path / "missing.so")
    assert e.value.code == "io_error"


def test_pack_takes_a_signature_as_the_cli_does(tmp_path):
    text = "a:f32[*],b:f32[*],tile?:scalar -> f:f32[*]"
    signed = chiprt.Image.pack(orch=_so("orch_vector.so"),
                               kernels=_vector_kernels(), name="v", signature=text)
    assert signed.inspect()["signature"]["text"] == text
    # The same image as `chiprt pack --signature` makes, byte for byte.
    out = tmp_path / "cli.chipimg"
    subprocess.run([CLI, "pack", "--orch", _so("orch_vector.so")] +
                   sum([["--kernel", "%d:%s:%s" % k] for k in _vector_kernels()], []) +
                   ["--name", "v", "--signature", text, "-o", str(out)],
                   check=True, capture_output=True)
    assert bytes(signed) == out.read_bytes()
    # The .json form and the dict inspect() gives are the same signature.
    sig = signed.inspect()["signature"]
    (tmp_path / "sig.json").write_text(json.dumps(sig))
    for spec in (str(tmp_path / "sig.json"), tmp_path / "sig.json", sig):
        again = chiprt.Image.pack(orch=_so("orch_vector.so"), kernels=_vector_kernels(), name="v",
                                  signature=spec)
        assert bytes(again) == bytes(signed)
    with pytest.raises(chiprt.InvalidArgument, match="signature"):
        chiprt.Image.pack(orch=_so("orch_vector.so"), kernels=_vector_kernels(), signature="a:f99[1]")
    with pytest.raises(TypeError, match="argument 'signature'"):
        chiprt.Image.pack(orch=_so("orch_vector.so"), kernels=_vector_kernels(), signature=3)
    assert vector_image().inspect()["signature"] is None


def test_pack_names_kernels_as_the_cli_does(tmp_path):
    # 3-tuples: each kernel named by its file's stem; 4-tuples: the name given.
    assert vector_image().kernel_names == {1: "kernel_add", 2: "kernel_add_scalar", 3: "kernel_mul"}
    kernels = [(1, "aiv", _so("kernel_add.so"), "add"), (2, "aiv", _so("kernel_add_scalar.so")),
               (3, "aiv", _so("kernel_add.so"), "add")]
    named = chiprt.Image.pack(orch=_so("orch_vector.so"), kernels=kernels, name="n")
    assert named.kernel_names == {1: "add", 2: "kernel_add_scalar", 3: "add"}
    assert [c["name"] for c in named.inspect()["children"]] == ["add", "kernel_add_scalar", "add"]
    assert named.inspect()["kernel_names_bytes"] == 3 * 48
    assert chiprt.Image(bytes(named)).kernel_names == named.kernel_names
    out = tmp_path / "cli.chipimg"
    subprocess.run([CLI, "pack", "--orch", _so("orch_vector.so"),
                    "--kernel", "1:aiv:%s:add" % _so("kernel_add.so"),
                    "--kernel", "2:aiv:%s" % _so("kernel_add_scalar.so"),
                    "--kernel", "3:aiv:%s:add" % _so("kernel_add.so"),
                    "--name", "n", "-o", str(out)], check=True, capture_output=True)
    assert bytes(named) == out.read_bytes()


def test_pack_rejects_a_bad_kernel_name():
    add = _so("kernel_add.so")
    for bad, message in (("a b", "has ' ' at byte 1"), ("", "is empty"),
                         ("k" * 48, "is 48 bytes; at most 47"), ("a:b", "has ':' at byte 1")):
        with pytest.raises(chiprt.InvalidArgument, match="kernel func_id 1: name") as e:
            chiprt.Image.pack(orch=_so("orch_vector.so"), kernels=[(1, "aiv", add, bad)])
        assert message in str(e.value)
    with pytest.raises(ValueError, match=r"path\[, name\]"):
        chiprt.Image.pack(orch=_so("orch_vector.so"), kernels=[(1, "aiv", add, "a", "b")])


def test_load_is_documented():
    assert "validates" in chiprt.Image.load.__doc__
    assert "signature" in chiprt.Image.pack.__doc__


def _so(name):
    return os.path.join(EXAMPLES_SO, name)


def _vector_kernels():
    return [(1, "aiv", _so("kernel_add.so")), (2, "aiv", _so("kernel_add_scalar.so")),
            (3, "aiv", _so("kernel_mul.so"))]
