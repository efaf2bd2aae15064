#!/usr/bin/env python3
"""Writes the small checkpoints tests/test_torch_checkpoint.cpp loads (standard library only, no torch):

  tiny.pt            valid torch 1.x layout (prefix tiny/, protocol 2): strided, offset, scalar, expanded,
                     empty, shared-storage, parameter, F32/BF16/F16/I64 tensors and a _metadata BUILD
  tiny_torch2.pt     the same state_dict in torch 2.x layout: prefix archive/, protocol 4 (FRAME, MEMOIZE,
                     STACK_GLOBAL), records byteorder, .format_version, .storage_alignment, .data/serialization_id
  tiny_deflate.pt    tiny.pt with deflate-compressed records
  tiny_p2.pkl, tiny_p4.pkl  tiny's data.pkl alone (protocols 2 and 4), for the C++ test's pickle mutation test
  arc_att_torch2.pt  the official arc_att fixture's step_100 rewritten in torch 2.x layout (must load identically)
  hostile/*.pt       files the reader must refuse with an Error (never crash); the C++ test lists the reason each
                     message must name

  usage: python3 tests/data/torch/make_hostile.py [fixtures_dir]   (default tests/data/official-trm)
"""
import collections
import io
import os
import random
import struct
import sys
import zipfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_stub as ts  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTILE = os.path.join(HERE, "hostile")


def bf16_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0] >> 16  # exact for the values used here


# Raw storages of tiny.pt: key -> (storage type, location, bytes).
TINY_STORAGES = {
    "0": ("FloatStorage", "cpu", struct.pack("<12f", *range(12))),
    "1": ("BFloat16Storage", "cuda:0", struct.pack("<4H", *(bf16_bits(x) for x in (1.0, -2.0, 0.5, 3.0)))),
    "2": ("LongStorage", "cpu", struct.pack("<3q", -1, 2**40, 7)),
    "3": ("HalfStorage", "cpu", struct.pack("<2e", 1.5, -0.25)),
}


def storages(spec):
    out = {}
    for key, (stype, loc, raw) in spec.items():
        esize = ts.STORAGE_TYPES[stype][2]
        out[key] = ts.Storage(ts.storage_type(stype), key, loc, len(raw) // esize)
    return out


def tiny_state():
    s = storages(TINY_STORAGES)
    sd = collections.OrderedDict()
    sd["a"] = ts.Tensor(s["0"], 2, (3, 2), (1, 3))      # [[2,5],[3,6],[4,7]]: transposed view with offset
    sd["b"] = ts.Tensor(s["1"], 0, (4,), (1,))           # bf16 [1,-2,0.5,3]
    sd["c"] = ts.Tensor(s["0"], 11, (), ())              # scalar 11, shares storage 0
    sd["e"] = ts.Tensor(s["0"], 4, (2, 3), (0, 1))       # expanded: [[4,5,6],[4,5,6]]
    sd["z"] = ts.Tensor(s["0"], 0, (0, 5), (5, 1))       # empty
    sd["i"] = ts.Tensor(s["2"], 0, (3,), (1,))           # int64 [-1, 2^40, 7]
    sd["h"] = ts.Tensor(s["3"], 0, (2,), (1,))           # f16 [1.5, -0.25]
    sd["p"] = ts.Parameter(ts.Tensor(s["1"], 1, (2,), (2,), True))  # [-2, 3] via _rebuild_parameter
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("layer", {"version": 1})])
    return sd


def write_zip(path, records, compression=zipfile.ZIP_STORED):
    """records: list of (name, bytes) in order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in records:  # fixed timestamps: reruns write identical bytes
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            zf.writestr(info, data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return buf.getvalue()


def torch1_records(prefix, pkl, raw_storages, version=b"3\n"):
    recs = [(prefix + "data.pkl", pkl)]
    recs += [(prefix + "data/" + k, v) for k, v in raw_storages.items()]
    recs.append((prefix + "version", version))
    return recs


def torch2_records(prefix, pkl, raw_storages, byteorder=b"little"):
    recs = [(prefix + "data.pkl", pkl), (prefix + ".format_version", b"1"), (prefix + ".storage_alignment", b"64"),
            (prefix + "byteorder", byteorder)]
    recs += [(prefix + "data/" + k, v) for k, v in raw_storages.items()]
    recs += [(prefix + "version", b"3\n"), (prefix + ".data/serialization_id", b"1234567890123456789012345678901234")]
    return recs


TINY_RAW = {k: v[2] for k, v in TINY_STORAGES.items()}


def one_tensor(offset, size, stride, numel=None, key="0"):
    """A state_dict {'x': tensor over tiny's storage 0 (12 floats)}, optionally claiming another numel."""
    st = storages({key: TINY_STORAGES["0"]})[key]
    if numel is not None:
        st.numel = numel
    return collections.OrderedDict([("x", ts.Tensor(st, offset, size, stride))])


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def hostile_files(tiny_pkl):
    P2 = b"\x80\x02"
    od = b"ccollections\nOrderedDict\n)R"                      # OrderedDict() on the stack
    tv2 = b"ctorch._utils\n_rebuild_tensor_v2\n"
    rng = random.Random(1234)
    garbage = bytes([0x11]) + bytes(rng.randrange(256) for _ in range(299))
    deep = P2 + od + binunicode("x") + b")" + b"\x85" * 100000 + b"s."
    files = {
        # container-level
        "empty.pt": b"",
        "garbage.pt": garbage,
        "garbage_pk.pt": b"PK\x03\x04" + garbage,
        "legacy_pickle.pt": P2 + b"\x8a\x0a" + b"\x00" * 10,
        "truncated_zip.pt": None,  # filled below from tiny.pt
        "no_data_pkl.pt": [("tiny/version", b"3\n"), ("tiny/data/0", TINY_RAW["0"])],
        "two_data_pkl.pt": [("a/data.pkl", tiny_pkl), ("b/data.pkl", tiny_pkl)] +
                           [("a/data/" + k, v) for k, v in TINY_RAW.items()],
        "missing_storage.pt": torch1_records("tiny/", tiny_pkl, {k: v for k, v in TINY_RAW.items() if k != "1"}),
        "big_endian.pt": torch2_records("archive/", tiny_pkl, TINY_RAW, byteorder=b"big"),
        "crc_corrupt.pt": None,  # filled below
        # code execution attempts
        "global_os_system.pt": P2 + b"cos\nsystem\n" + binunicode("echo pwned") + b"\x85R.",
        "global_posix_system.pt": P2 + b"cposix\nsystem\n" + binunicode("echo pwned") + b"\x85R.",
        "global_builtins_eval.pt": b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93" +
                                   b"\x8c\x03" + b"1+1" + b"\x85R.",
        "global_getattr.pt": P2 + b"c__builtin__\ngetattr\n" + od + binunicode("clear") + b"\x86R.",
        "global_torch_load.pt": P2 + b"ctorch\nload\n" + binunicode("x.pt") + b"\x85R.",
        "inst_opcode.pt": P2 + b"(" + binunicode("echo pwned") + b"ios\nsystem\n.",
        "obj_opcode.pt": P2 + b"(" + b"ccollections\nOrderedDict\n" + b"o.",
        "newobj_opcode.pt": P2 + b"ccollections\nOrderedDict\n)\x81.",
        "ext_opcode.pt": P2 + b"\x82\x01)R.",
        "reduce_on_str.pt": P2 + binunicode("os.system") + b")R.",
        "reduce_storage_type.pt": P2 + b"ctorch\nFloatStorage\n)R.",
        "ordereddict_args.pt": P2 + b"ccollections\nOrderedDict\n]\x85R.",
        # malformed pickles
        "bad_protocol.pt": b"\x80\x09" + od + b".",
        "truncated_pickle.pt": P2 + od + b"X" + struct.pack("<I", 1000) + b"abcde",
        "no_stop.pt": P2 + od,
        "trailing_after_stop.pt": P2 + od + b"." + b"junk",
        "memo_missing.pt": P2 + b"h\x07.",
        "stack_underflow.pt": P2 + b"\x86.",
        "mark_underflow.pt": P2 + b"t.",
        "long_int.pt": P2 + b"\x8a\x09" + b"\x01" * 9 + b".",
        "huge_string.pt": P2 + b"\x8d" + struct.pack("<Q", 2**63) + b"abc.",
        "huge_memo_index.pt": P2 + od + b"r\xff\xff\xff\xff.",
        "deep_tuples.pt": deep,
        "deep_marks.pt": P2 + b"(" * 200000 + b".",
        "wrong_top_level.pt": P2 + b"]" + binunicode("x") + b"a.",
        "non_tensor_value.pt": P2 + od + binunicode("step") + b"K\x05s.",
        "non_str_key.pt": None,
        "duplicate_key.pt": None,
        "bad_persid.pt": P2 + od + binunicode("x") + tv2 + b"(" + b"(" + binunicode("storage") +
                         binunicode("notatype") + binunicode("0") + binunicode("cpu") + b"K\x0ct" + b"Q" +
                         b"K\x00K\x0c\x85K\x01\x85\x89" + od + b"tRs.",
        "build_on_tuple.pt": P2 + b")}b.",
        # tensors that do not fit their storage
        "out_of_bounds.pt": one_tensor(2, (3, 4), (4, 1)),
        "offset_past_end.pt": one_tensor(12, (1,), (1,)),
        "negative_stride.pt": one_tensor(11, (3,), (-1,)),
        "negative_size.pt": one_tensor(0, (-3,), (1,)),
        "rank_mismatch.pt": one_tensor(0, (3, 4), (4,)),
        "too_many_dims.pt": one_tensor(0, (1,) * 100, (1,) * 100),
        "huge_numel.pt": one_tensor(0, (12,), (1,), numel=2**62),
        "storage_size_mismatch.pt": one_tensor(0, (12,), (1,), numel=13),
        "huge_shape.pt": one_tensor(0, (2**40, 2**40), (0, 0)),
        "expand_bomb.pt": one_tensor(0, (2**14, 2**14), (0, 0)),  # 1 GiB of output from 48 bytes
        "index_overflow.pt": one_tensor(0, (2, 2), (2**62, 2**62)),
    }
    return files


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../official-trm")
    os.makedirs(HOSTILE, exist_ok=True)

    tiny_pkl = ts.dumps_state_dict(tiny_state(), 2)
    with open(os.path.join(HERE, "tiny_p2.pkl"), "wb") as f:
        f.write(tiny_pkl)
    with open(os.path.join(HERE, "tiny_p4.pkl"), "wb") as f:
        f.write(ts.dumps_state_dict(tiny_state(), 4))
    tiny = write_zip(os.path.join(HERE, "tiny.pt"), torch1_records("tiny/", tiny_pkl, TINY_RAW))
    write_zip(os.path.join(HERE, "tiny_torch2.pt"),
              torch2_records("archive/", ts.dumps_state_dict(tiny_state(), 4), TINY_RAW))
    write_zip(os.path.join(HERE, "tiny_deflate.pt"), torch1_records("tiny/", tiny_pkl, TINY_RAW),
              zipfile.ZIP_DEFLATED)

    with open(os.path.join(root, "arc_att", "step_100"), "rb") as f:
        prefix, state, zf = ts.load_checkpoint(f.read())
    raw = {t.storage.key: zf.read(prefix + "data/" + t.storage.key) for t in state.values()}
    write_zip(os.path.join(HERE, "arc_att_torch2.pt"),
              torch2_records("archive/", ts.dumps_state_dict(state, 4), dict(sorted(raw.items()))))

    files = hostile_files(tiny_pkl)
    files["truncated_zip.pt"] = tiny[: len(tiny) // 2]
    corrupt = bytearray(tiny)
    at = tiny.index(struct.pack("<3f", 4.0, 5.0, 6.0))  # inside record tiny/data/0
    corrupt[at] ^= 0x40
    files["crc_corrupt.pt"] = bytes(corrupt)
    s = storages({"0": TINY_STORAGES["0"]})
    files["non_str_key.pt"] = ts.dumps_state_dict({7: ts.Tensor(s["0"], 0, (2,), (1,))})
    dup = ts.dumps_state_dict(collections.OrderedDict([("a", ts.Tensor(s["0"], 0, (2,), (1,))),
                                                       ("b", ts.Tensor(s["0"], 2, (2,), (1,)))]))
    files["duplicate_key.pt"] = dup.replace(binunicode("b"), binunicode("a"))

    s0 = storages({"0": TINY_STORAGES["0"]})["0"]  # 12 floats = 48 bytes
    s0_as_f64 = ts.Storage(ts.storage_type("DoubleStorage"), "0", "cpu", 12)  # same record read as 96 bytes
    files["storage_shared_mismatch.pt"] = collections.OrderedDict(
        [("a", ts.Tensor(s0, 0, (12,), (1,))), ("b", ts.Tensor(s0_as_f64, 0, (12,), (1,)))])
    # Deflated data.pkl whose zip headers claim 10 MB: an implausible expansion, refused before allocating.
    bomb = bytearray(write_zip(os.path.join(HOSTILE, "deflate_bomb.pt"), torch1_records("tiny/", tiny_pkl, TINY_RAW),
                               zipfile.ZIP_DEFLATED))
    central = bomb.index(b"PK\x01\x02")  # first central directory entry: tiny/data.pkl
    struct.pack_into("<I", bomb, 22, 10_000_000)
    struct.pack_into("<I", bomb, central + 24, 10_000_000)
    files["deflate_bomb.pt"] = bytes(bomb)

    for name, content in sorted(files.items()):
        path = os.path.join(HOSTILE, name)
        if isinstance(content, collections.OrderedDict) or isinstance(content, dict):
            content = ts.dumps_state_dict(content)
        if isinstance(content, list):  # zip records
            write_zip(path, content)
        elif name.endswith(".pt") and content[:2] in (b"\x80\x02", b"\x80\x04", b"\x80\x09") and \
                name != "legacy_pickle.pt":  # a data.pkl: wrap it in a zip with tiny's storages
            write_zip(path, torch1_records("tiny/", content, TINY_RAW),
                      zipfile.ZIP_DEFLATED if name.startswith("deep_") else zipfile.ZIP_STORED)
        else:
            with open(path, "wb") as f:
                f.write(content)
    print(f"wrote tiny.pt, tiny_torch2.pt, tiny_deflate.pt, arc_att_torch2.pt and {len(files)} hostile files")


if __name__ == "__main__":
    main()
