#!/usr/bin/env python3
"""Writes the small binary seeds of tests/fuzz/corpus/{gguf,safetensors}/.

Tiny valid files (a few tensors of a few elements, written here by the
format's rules: datasets/gguf.h, datasets/safetensors.h) plus corrupt
variants of each (truncated, bad magic/version, huge counts and lengths,
overlapping or out-of-range tensors). Rerun after changing it:
  /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gkv(key, typ, payload):
    return gstr(key) + struct.pack("<I", typ) + payload


def gguf(kvs, tensors, version=3, alignment=32, data=True, n_tensors=None, n_kv=None):
    out = b"GGUF" + struct.pack("<I", version)
    out += struct.pack("<q", len(tensors) if n_tensors is None else n_tensors)
    out += struct.pack("<q", len(kvs) if n_kv is None else n_kv)
    for kv in kvs:
        out += kv
    offset = 0
    sizes = []
    for name, dims, typ, nbytes, off in tensors:
        out += gstr(name) + struct.pack("<I", len(dims))
        for d in dims:
            out += struct.pack("<Q", d)
        out += struct.pack("<I", typ)
        o = offset if off is None else off
        out += struct.pack("<Q", o)
        sizes.append(nbytes)
        offset += (nbytes + alignment - 1) // alignment * alignment
    if data:
        out += b"\0" * ((-len(out)) % alignment)
        out += bytes((i * 37) & 0xFF for i in range(offset))
    return out


def valid_kvs(alignment=None):
    kvs = [
        gkv("general.architecture", 8, gstr("llama")),
        gkv("general.name", 8, gstr("fuzz")),
        gkv("llama.block_count", 4, struct.pack("<I", 2)),
        gkv("llama.expert_count", 4, struct.pack("<I", 0)),
        gkv("general.file_type", 4, struct.pack("<I", 1)),
        gkv("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
        gkv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + gstr("a") + gstr("b") + gstr("c")),
        gkv("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 3) + struct.pack("<fff", 0, 1, 2)),
        gkv("misc.flag", 7, b"\x01"),
        gkv("misc.i64", 11, struct.pack("<q", -5)),
        gkv("misc.f64", 12, struct.pack("<d", 1.5)),
        gkv("misc.u8", 0, b"\x07"),
        gkv("misc.i16", 3, struct.pack("<h", -2)),
    ]
    if alignment is not None:
        kvs.append(gkv("general.alignment", 4, struct.pack("<I", alignment)))
    return kvs


# (name, dims innermost first, ggml type, bytes, offset or None)
DENSE = [
    ("token_embd.weight", [8, 4], 0, 128, None),
    ("blk.0.attn_q.weight", [8, 8], 1, 128, None),
    ("blk.0.ffn_down.weight", [32, 2], 2, 36, None),  # Q4_0: 18 bytes / 32
    ("blk.1.attn_q.weight", [32, 1], 8, 34, None),    # Q8_0: 34 bytes / 32
    ("output.weight", [4], 0, 16, None),
]
MOE = [
    ("blk.0.ffn_gate_exps.weight", [8, 4, 2], 0, 256, None),
    ("blk.1.ffn_up_exps.weight", [8, 4, 2], 1, 128, None),
]


def st(tensors, metadata=None, pad=0, header_len=None, raw_header=None, data_len=None):
    h = {}
    if metadata is not None:
        h["__metadata__"] = metadata
    end = 0
    for name, dtype, shape, size, rng in tensors:
        b, e = rng if rng is not None else (end, end + size)
        h[name] = {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}
        end = max(end, e)
    text = raw_header if raw_header is not None else json.dumps(h).encode()
    text += b" " * (((-len(text)) % 8) + pad)
    n = len(text) if header_len is None else header_len
    dl = end if data_len is None else data_len
    return struct.pack("<Q", n) + text + bytes((i * 13) & 0xFF for i in range(dl))


ST_DENSE = [
    ("model.embed_tokens.weight", "F32", [4, 8], 128, None),
    ("model.layers.0.self_attn.q_proj.weight", "F16", [8, 8], 128, None),
    ("model.layers.1.mlp.down_proj.weight", "BF16", [2, 4], 16, None),
    ("lm_head.weight", "I8", [4], 4, None),
]
ST_MOE = [
    ("model.layers.0.block_sparse_moe.experts.0.w1.weight", "F16", [4, 4], 32, None),
    ("model.layers.0.block_sparse_moe.experts.1.w1.weight", "F16", [4, 4], 32, None),
    ("model.layers.1.block_sparse_moe.experts.0.w1.weight", "F16", [4, 4], 32, None),
    ("model.layers.1.block_sparse_moe.experts.1.w1.weight", "F16", [4, 4], 32, None),
]


def write(folder, name, data):
    assert len(data) <= 8192, (name, len(data))
    with open(os.path.join(HERE, "corpus", folder, name), "wb") as f:
        f.write(data)


def main():
    g = gguf(valid_kvs(), DENSE)
    write("gguf", "valid-dense.gguf", g)
    write("gguf", "valid-moe.gguf", gguf(valid_kvs(), DENSE[:1] + MOE))
    write("gguf", "valid-align64.gguf", gguf(valid_kvs(64), DENSE, alignment=64))
    write("gguf", "valid-v2.gguf", gguf(valid_kvs(), DENSE, version=2))
    write("gguf", "valid-empty.gguf", gguf([], []))
    write("gguf", "trunc-header.gguf", g[:90])
    write("gguf", "trunc-data.gguf", g[:-40])
    write("gguf", "bad-magic.gguf", b"GGUX" + g[4:])
    write("gguf", "bad-version.gguf", gguf(valid_kvs(), DENSE, version=9))
    write("gguf", "huge-counts.gguf", gguf(valid_kvs(), DENSE, n_tensors=1 << 62, n_kv=1 << 40))
    write("gguf", "neg-counts.gguf", gguf(valid_kvs(), DENSE, n_tensors=-1, n_kv=-3))
    write("gguf", "huge-string.gguf",
          gguf([struct.pack("<Q", 1 << 60) + b"general.name"], []))
    write("gguf", "huge-array.gguf",
          gguf([gkv("a", 9, struct.pack("<IQ", 4, 1 << 61))], []))
    write("gguf", "nested-array.gguf",
          gguf([gkv("a", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 0, 1) + b"\x01")], []))
    write("gguf", "bad-type.gguf", gguf([gkv("a", 99, b"\0" * 8)], []))
    write("gguf", "bad-align.gguf", gguf(valid_kvs(3), DENSE, alignment=32))
    write("gguf", "zero-align.gguf", gguf(valid_kvs(0), DENSE, alignment=32))
    write("gguf", "overlap.gguf", gguf(valid_kvs(), [(n, d, t, b, 0) for n, d, t, b, _ in DENSE]))
    write("gguf", "offset-past-end.gguf",
          gguf(valid_kvs(), DENSE[:1] + [("x", [4], 0, 16, 1 << 63)]))
    write("gguf", "huge-dims.gguf",
          gguf(valid_kvs(), [("x", [1 << 62, 1 << 62, 4], 0, 16, None)]))
    write("gguf", "many-dims.gguf",
          gguf(valid_kvs(), [("x", [1, 1, 1, 1, 1, 1], 0, 4, None)]))
    write("gguf", "bad-ggml-type.gguf", gguf(valid_kvs(), [("x", [4], 77, 16, None)]))
    write("gguf", "bad-block.gguf", gguf(valid_kvs(), [("x", [31], 2, 18, None)]))
    write("gguf", "dup-names.gguf", gguf(valid_kvs(), [DENSE[0], DENSE[0]]))
    write("gguf", "long-name.gguf", gguf(valid_kvs(), [("n" * 80, [4], 0, 16, None)]))
    write("gguf", "dup-keys.gguf", gguf(valid_kvs() + valid_kvs()[:2], DENSE))
    write("gguf", "magic-only.gguf", b"GGUF")

    s = st(ST_DENSE, metadata={"format": "pt", "fuzz": "yes"})
    write("safetensors", "valid-dense.safetensors", s)
    write("safetensors", "valid-moe.safetensors", st(ST_MOE))
    write("safetensors", "valid-padded.safetensors", st(ST_DENSE, pad=64))
    write("safetensors", "valid-empty.safetensors", st([]))
    write("safetensors", "trunc-header.safetensors", s[:60])
    write("safetensors", "trunc-data.safetensors", s[:-10])
    write("safetensors", "len-only.safetensors", struct.pack("<Q", 16))
    write("safetensors", "huge-len.safetensors", struct.pack("<Q", 1 << 63) + s[8:])
    write("safetensors", "len-100M.safetensors", struct.pack("<Q", 100_000_001) + s[8:])
    write("safetensors", "not-json.safetensors", st([], raw_header=b"{\"a\": [1, 2"))
    write("safetensors", "json-array.safetensors", st([], raw_header=b"[1,2,3]"))
    write("safetensors", "bad-dtype.safetensors", st([("x", "F7", [2], 8, None)]))
    write("safetensors", "bad-shape.safetensors", st([("x", "F32", [2, -1], 8, None)]))
    write("safetensors", "shape-mismatch.safetensors", st([("x", "F32", [3], 8, None)]))
    write("safetensors", "huge-shape.safetensors",
          st([("x", "F32", [1 << 62, 1 << 62], 8, None)]))
    write("safetensors", "reversed-range.safetensors", st([("x", "F32", [2], 8, (8, 0))]))
    write("safetensors", "range-past-end.safetensors",
          st([("x", "F32", [2], 8, (1 << 63, (1 << 63) + 8))], data_len=8))
    write("safetensors", "overlap.safetensors",
          st([("x", "F32", [2], 8, (0, 8)), ("y", "F32", [2], 8, (4, 12))], data_len=12))
    write("safetensors", "gap.safetensors",
          st([("x", "F32", [2], 8, (0, 8)), ("y", "F32", [2], 8, (16, 24))], data_len=24))
    write("safetensors", "meta-not-strings.safetensors",
          st([], raw_header=b'{"__metadata__": {"a": 1, "b": [2]}}'))
    write("safetensors", "tensor-not-object.safetensors",
          st([], raw_header=b'{"x": 5, "y": {"dtype": 1, "shape": "s", "data_offsets": [0]}}'))
    write("safetensors", "float-offsets.safetensors",
          st([], raw_header=b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0.5, 4e30]}}', data_len=4))
    write("safetensors", "deep-nesting.safetensors",
          st([], raw_header=b"[" * 3000 + b"]" * 3000))
    write("safetensors", "utf8.safetensors",
          st([("\u00e9\u4e2d\U0001F600", "U8", [4], 4, None)]))


if __name__ == "__main__":
    main()
