"""Request sets for bench/serve_bench.sh: valid requests and one in five malformed, with the answer
each valid request gets when asked alone, written as a Lua table for bench/serve_load.lua (wrk).

usage: [SERVE_MALFORMED=0] python3 serve_requests.py ROUTE BASE_URL MODEL OUT.lua
  ROUTE: json (Open Inference Protocol JSON), binary (its binary tensor data extension) or image
  (TorchServe-style PNG bodies). Inputs are the first MNIST test digits bundled with Fovea, sent as
  a Python client sends them (json.dumps of float32 values). Standard library only; loopback only.
"""
import base64, gzip, http.client, json, os, struct, sys, urllib.parse, zlib

ROUTE, BASE, MODEL, OUT = sys.argv[1:5]
HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "Sources", "Fovea", "Resources", "mnist", "t10k-images-idx3-ubyte.gz")
VALID = 16


def digits(n):
    raw = gzip.open(MNIST).read()
    count, rows, cols = struct.unpack(">III", raw[4:16])
    size = rows * cols
    return [list(raw[16 + i * size:16 + (i + 1) * size]) for i in range(n)]


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def v2_json(pixels, rid, **change):
    tensor = {"name": "input_layer", "shape": [1, 28, 28, 1], "datatype": "FP32", "data": [f32(p / 255) for p in pixels]}
    tensor.update(change)
    return json.dumps({"id": rid, "inputs": [tensor]}).encode()


def png(pixels):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(pixels[r * 28:(r + 1) * 28]) for r in range(28))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def requests():
    """(path, headers, body, valid) in the order sent: every fifth one malformed."""
    images = digits(VALID)
    infer = f"/v2/models/{MODEL}/infer"
    valid, bad = [], []
    if ROUTE == "json":
        for i, p in enumerate(images):
            valid.append((infer, {"Content-Type": "application/json"}, v2_json(p, f"r{i}")))
        good = v2_json(images[0], "bad")
        bad = [(infer, {}, good[:-7]),                                                  # truncated JSON
               (infer, {}, v2_json(images[1], "bad", shape=[1, 28, 27, 1])),            # wrong shape
               (infer, {}, v2_json(images[2], "bad", datatype="BF16")),                 # unknown datatype
               (infer, {}, v2_json(images[3], "bad", data=[0.5] * 783)),                # count does not match
               (infer, {}, good.replace(b"0.0,", b"NaN,", 1)),                          # not JSON
               (infer, {}, b"[" * 100000 + b"]" * 100000),                              # deeply nested
               (infer, {}, v2_json(images[4], "bad", shape=[-1, 28, 28, 1])),           # negative shape
               (infer, {}, v2_json(images[5], "bad", shape=[10**12, 28, 28, 1])),       # absurd shape
               (infer, {}, good.replace(b'"data": [', b'"dat": [')),                    # missing field
               (infer, {}, v2_json(images[6], "bad", data=[1e39] * 784)),               # out of range
               (f"/v2/models/nope/infer", {}, good),                                    # unknown model
               (f"/v2/models/{MODEL}/versions/99/infer", {}, good)]                     # unknown version
    elif ROUTE == "binary":
        def binary(p, rid, size=3136, cut=0, extra=b"", lie=0, nan=False):
            header = json.dumps({"id": rid, "inputs": [{"name": "input_layer", "shape": [1, 28, 28, 1], "datatype": "FP32",
                                                         "parameters": {"binary_data_size": size}}],
                                 "outputs": [{"name": "dense_1", "parameters": {"binary_data": True}}]}).encode()
            data = struct.pack("<784f", *[v / 255 for v in p[:-1]] + [float("nan") if nan else p[-1] / 255])
            data = (data[:-cut] if cut else data) + extra
            return (infer, {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header) + lie)},
                    header + data)
        valid = [binary(p, f"r{i}") for i, p in enumerate(images)]
        bad = [binary(images[0], "bad", cut=4), binary(images[1], "bad", extra=b"\0\0\0\0"), binary(images[2], "bad", lie=40),
               binary(images[3], "bad", lie=10**6), binary(images[4], "bad", size=100), binary(images[5], "bad", cut=3136),
               (infer, {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": "-5"}, b"{}"),
               binary(images[6], "bad", nan=True)]
    elif ROUTE == "image":
        path = f"/predictions/{MODEL}"
        valid = [(path, {"Content-Type": "image/png"}, png(p)) for p in images]
        one = png(images[0])
        bad = [(path, {"Content-Type": "image/png"}, b"this is not an image"), (path, {"Content-Type": "image/png"}, one[:60]),
               (path, {"Content-Type": "image/png"}, b""), (path, {"Content-Type": "multipart/form-data"}, one),
               (path, {"Content-Type": "image/png"}, one[:8] + b"\0" * 200), (f"/predictions/nope", {"Content-Type": "image/png"}, one)]
    else:
        sys.exit(f"unknown route {ROUTE}")
    if os.environ.get("SERVE_MALFORMED", "1") == "0":
        return [v + (True,) for v in valid]
    # Four valid requests, then a malformed one: every malformed kind at least once, one in five.
    rounds = max(len(valid) // 4, len(bad))
    out = []
    for r in range(rounds):
        out += [valid[(r * 4 + m) % len(valid)] + (True,) for m in range(4)]
        out.append(bad[r % len(bad)] + (False,))
    return out


def ask(path, headers, body):
    u = urllib.parse.urlparse(BASE)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("POST", path, body=body, headers=headers)
    r = c.getresponse()
    return r.status, r.read()


def lua(b):
    return '"' + "".join(chr(c) if 32 <= c < 127 and c not in (34, 92) else "\\%03d" % c for c in b) + '"'


reqs = requests()
lines = ["return {"]
for path, headers, body, valid in reqs:
    status, answer = ask(path, headers, body)
    if valid and status != 200:
        sys.exit(f"a valid request was answered {status}: {answer[:200]!r}")
    if not valid and not 400 <= status < 500:
        sys.exit(f"a malformed request was answered {status}: {body[:100]!r} -> {answer[:200]!r}")
    hs = ", ".join(f'[{lua(k.encode())}] = {lua(v.encode())}' for k, v in headers.items())
    lines.append(f'  {{path = {lua(path.encode())}, headers = {{{hs}}}, body = {lua(body)}, valid = {str(valid).lower()}, '
                 f'expected = {lua(answer) if valid else "nil"}}},')
lines.append("}")
open(OUT, "w").write("\n".join(lines) + "\n")
print(f"{OUT}: {sum(r[3] for r in reqs)} valid and {sum(not r[3] for r in reqs)} malformed requests ({ROUTE})")
