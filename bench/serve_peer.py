"""The seed CNN served the way a Python user would: FastAPI + uvicorn + onnxruntime, the Open
Inference Protocol's JSON infer route (so bench/serve_load.lua drives both servers alike).

  python serve_peer.py export MODEL.safetensors OUT.onnx   # the same network and weights as ONNX
  PEER_ONNX=OUT.onnx uvicorn --app-dir bench serve_peer:app --workers 2 ...

The ONNX graph is built from Fovea's safetensors file (conv2d.kernel ... dense_1.bias) with
onnx.helper: NHWC input transposed to NCHW for the convolutions and back before Flatten, as Keras
flattens. Run by bench/serve_bench.sh in the virtual environment /tmp/fovea-peers/serve; never in CI.
"""
import os, sys

if len(sys.argv) > 1 and sys.argv[1] == "export":
    import numpy as np, onnx
    from onnx import helper, TensorProto, numpy_helper
    from safetensors.numpy import load_file
    w = load_file(sys.argv[2])
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array.astype(np.float32)), name))
        return name

    nodes.append(helper.make_node("Transpose", ["input_layer"], ["x0"], perm=[0, 3, 1, 2]))
    x = "x0"
    for i, layer in enumerate(["conv2d", "conv2d_1", "conv2d_2"]):
        k = const(layer + ".kernel", w[layer + ".kernel"].transpose(3, 2, 0, 1))  # (kh,kw,c,f) -> (f,c,kh,kw)
        b = const(layer + ".bias", w[layer + ".bias"])
        nodes.append(helper.make_node("Conv", [x, k, b], [f"c{i}"], kernel_shape=[3, 3]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        x = f"r{i}"
        if i < 2:
            nodes.append(helper.make_node("MaxPool", [x], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            x = f"p{i}"
    nodes.append(helper.make_node("Transpose", [x], ["nhwc"], perm=[0, 2, 3, 1]))
    nodes.append(helper.make_node("Flatten", ["nhwc"], ["flat"], axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", const("dense.kernel", w["dense.kernel"]), const("dense.bias", w["dense.bias"])], ["d0"]))
    nodes.append(helper.make_node("Relu", ["d0"], ["d0r"]))
    nodes.append(helper.make_node("Gemm", ["d0r", const("dense_1.kernel", w["dense_1.kernel"]), const("dense_1.bias", w["dense_1.bias"])], ["d1"]))
    nodes.append(helper.make_node("Softmax", ["d1"], ["dense_1"], axis=-1))
    graph = helper.make_graph(nodes, "seed_cnn", [helper.make_tensor_value_info("input_layer", TensorProto.FLOAT, ["N", 28, 28, 1])],
                              [helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[3])
    print(f"wrote {sys.argv[3]}")
    sys.exit(0)

from typing import Any, List, Optional

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI
from pydantic import BaseModel

options = ort.SessionOptions()
options.intra_op_num_threads = int(os.environ.get("PEER_THREADS", "1"))  # one per worker: 2 workers, 2 cores
options.inter_op_num_threads = 1
session = ort.InferenceSession(os.environ["PEER_ONNX"], options, providers=["CPUExecutionProvider"])
app = FastAPI()


class InferInput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[Any]


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[InferInput]


@app.post("/v2/models/{model}/infer")
def infer(model: str, request: InferRequest):
    tensor = request.inputs[0]
    x = np.asarray(tensor.data, dtype=np.float32).reshape(tensor.shape)
    y = session.run(None, {"input_layer": x})[0]
    answer = {"model_name": model, "model_version": "1",
              "outputs": [{"name": "dense_1", "datatype": "FP32", "shape": list(y.shape), "data": y.ravel().tolist()}]}
    if request.id is not None:
        answer["id"] = request.id
    return answer
