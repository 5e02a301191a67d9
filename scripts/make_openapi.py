"""Writes Sources/FoveaServer/Resources/openapi.json, the OpenAPI document of every `fovea serve` route
(served at /openapi.json). Edit here, run `python3 scripts/make_openapi.py`, commit both."""
import json, os
E = {"$ref": "#/components/responses/Error"}
def errs(*codes):
    d = {}
    for c in codes:
        d[str(c)] = {"$ref": "#/components/responses/Error"} if c != 503 else {"$ref": "#/components/responses/Unavailable"}
    return d
M = {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Model name (the repository folder or file name)."}
V = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Model version (a whole number)."}
json_ok = lambda ref, desc: {"description": desc, "content": {"application/json": {"schema": {"$ref": ref}}}}
empty_ok = {"description": "True (empty body)."}
paths = {}
def add(path, method, op):
    paths.setdefault(path, {})[method] = op
    # Every other method on a documented path answers 405.
add("/v2/health/live", "get", {"tags": ["Open Inference Protocol"], "summary": "Server liveness", "operationId": "v2Live", "responses": {"200": empty_ok}})
add("/v2/health/ready", "get", {"tags": ["Open Inference Protocol"], "summary": "Server readiness: the repository's first load has finished", "operationId": "v2Ready",
    "responses": {"200": empty_ok, "400": E}})
add("/v2", "get", {"tags": ["Open Inference Protocol"], "summary": "Server metadata", "operationId": "v2ServerMetadata", "responses": {"200": json_ok("#/components/schemas/ServerMetadata", "Server metadata.")}})
for versioned in (False, True):
    base = "/v2/models/{model}" + ("/versions/{version}" if versioned else "")
    params = [M] + ([V] if versioned else [])
    sfx = "Version" if versioned else ""
    add(base, "get", {"tags": ["Open Inference Protocol"], "summary": "Model metadata", "operationId": "v2ModelMetadata" + sfx, "parameters": params,
        "responses": {"200": json_ok("#/components/schemas/ModelMetadata", "Inputs and outputs, -1 for the batch axis."), **errs(404)}})
    add(base + "/ready", "get", {"tags": ["Open Inference Protocol"], "summary": "Model readiness", "operationId": "v2ModelReady" + sfx, "parameters": params,
        "responses": {"200": empty_ok, **errs(404)}})
    add(base + "/infer", "post", {"tags": ["Open Inference Protocol"], "summary": "Inference (JSON tensors, or the binary tensor data extension)",
        "operationId": "v2Infer" + sfx, "parameters": params + [{"name": "Inference-Header-Content-Length", "in": "header", "required": False,
            "schema": {"type": "integer", "minimum": 0}, "description": "Binary tensor data extension: the length of the JSON header that starts the body; binary tensor data follows it."}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferRequest"}},
                                                      "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {"200": {"description": "Outputs as JSON, or (binary_data) a JSON header followed by little-endian FP32 data.",
                              "headers": {"Inference-Header-Content-Length": {"schema": {"type": "integer"}, "description": "Present with binary outputs: the JSON header's length."}},
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferResponse"}},
                                          "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                      **errs(400, 404, 413, 503)}})
add("/v1/models/{model}", "get", {"tags": ["TF Serving"], "summary": "Model status (every version)", "operationId": "v1Status", "parameters": [M],
    "responses": {"200": json_ok("#/components/schemas/TFStatus", "Version states."), **errs(400, 404)}})
add("/v1/models/{model}/versions/{version}", "get", {"tags": ["TF Serving"], "summary": "Model status (one version)", "operationId": "v1StatusVersion", "parameters": [M, V],
    "responses": {"200": json_ok("#/components/schemas/TFStatus", "The version's state."), **errs(404)}})
verb_desc = "`NAME:predict` (TF Serving's URL form); `:classify` and `:regress` are answered 400, other verbs 404."
pred = lambda opid, params: {"tags": ["TF Serving"], "summary": "Predict: " + verb_desc, "operationId": opid, "parameters": params,
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TFPredictRequest"}}}},
    "responses": {"200": json_ok("#/components/schemas/TFPredictResponse", "`predictions` for `instances`, `outputs` for `inputs`."), **errs(400, 404, 413, 503)}}
add("/v1/models/{model}", "post", pred("v1Predict", [dict(M, description="`NAME:predict`", schema={"type": "string", "pattern": "^[^/:]+:[A-Za-z]+$"})]))
add("/v1/models/{model}/versions/{version}", "post", pred("v1PredictVersion", [M, dict(V, description="`VERSION:predict`", schema={"type": "string", "pattern": "^[0-9]+:[A-Za-z]+$"})]))
for versioned in (False, True):
    base = "/v1/models/{model}" + ("/versions/{version}" if versioned else "")
    add(base + "/metadata", "get", {"tags": ["TF Serving"], "summary": "Model metadata (the serving_default signature)", "operationId": "v1Metadata" + ("Version" if versioned else ""),
        "parameters": [M] + ([V] if versioned else []), "responses": {"200": json_ok("#/components/schemas/TFMetadata", "Signature."), **errs(404)}})
img_params = [{"name": "topk", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 5}},
              {"name": "invert", "in": "query", "required": False, "schema": {"type": "boolean", "default": False}, "description": "Invert the image first (a dark digit on light paper for an MNIST model)."}]
img_body = {"required": True, "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}, "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                                          "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                                          "multipart/form-data": {"schema": {"type": "object", "properties": {"data": {"type": "string", "format": "binary"}}}}}}
for versioned in (False, True):
    add("/predictions/{model}" + ("/{version}" if versioned else ""), "post", {"tags": ["Images (TorchServe style)"],
        "summary": "Top classes of a PNG or JPEG image, prepared as `fovea predict` prepares it", "operationId": "imagePredict" + ("Version" if versioned else ""),
        "parameters": [M] + ([V] if versioned else []) + img_params, "requestBody": img_body,
        "responses": {"200": json_ok("#/components/schemas/TopClasses", "Class name (or index) to probability, most probable first."), **errs(400, 404, 413, 415, 503)}})
add("/ping", "get", {"tags": ["Images (TorchServe style)"], "summary": "TorchServe's health check", "operationId": "ping",
    "responses": {"200": json_ok("#/components/schemas/Ping", "Healthy."), "503": json_ok("#/components/schemas/Ping", "Still loading.")}})
add("/metrics", "get", {"tags": ["Operations"], "summary": "Prometheus metrics", "operationId": "metrics",
    "responses": {"200": {"description": "Prometheus text format 0.0.4.", "content": {"text/plain": {"schema": {"type": "string"}}}}}})
add("/openapi.json", "get", {"tags": ["Operations"], "summary": "This document", "operationId": "openapi",
    "responses": {"200": {"description": "OpenAPI 3.0.3.", "content": {"application/json": {"schema": {"type": "object"}}}}}})
# Every operation may answer 405 for another method; document the 405 on each path's operations.
for p, ops in paths.items():
    for m, op in ops.items():
        op["responses"].setdefault("405", E)

num_or_nested = {"oneOf": [{"type": "number"}, {"type": "array", "items": {"$ref": "#/components/schemas/NestedNumbers"}}]}
schemas = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "ServerMetadata": {"type": "object", "required": ["name", "version", "extensions"], "properties": {
        "name": {"type": "string"}, "version": {"type": "string"}, "extensions": {"type": "array", "items": {"type": "string"}}}},
    "TensorMetadata": {"type": "object", "required": ["name", "datatype", "shape"], "properties": {
        "name": {"type": "string"}, "datatype": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}}}},
    "ModelMetadata": {"type": "object", "required": ["name", "versions", "platform", "inputs", "outputs"], "properties": {
        "name": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}}, "platform": {"type": "string"},
        "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/TensorMetadata"}},
        "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/TensorMetadata"}}}},
    "NestedNumbers": num_or_nested,
    "InferInput": {"type": "object", "required": ["name", "shape", "datatype"], "properties": {
        "name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string", "enum": ["FP32", "FP64", "UINT8", "INT32", "INT64"]},
        "parameters": {"type": "object", "properties": {"binary_data_size": {"type": "integer", "minimum": 0}}},
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/NestedNumbers"}, "description": "Flat (row-major) or nested as the shape."}}},
    "RequestedOutput": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"},
        "parameters": {"type": "object", "properties": {"binary_data": {"type": "boolean"}}}}},
    "InferRequest": {"type": "object", "required": ["inputs"], "properties": {
        "id": {"type": "string"}, "parameters": {"type": "object", "properties": {"binary_data_output": {"type": "boolean"}}},
        "inputs": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/InferInput"}},
        "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/RequestedOutput"}}}},
    "InferOutput": {"type": "object", "required": ["name", "datatype", "shape"], "properties": {
        "name": {"type": "string"}, "datatype": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
        "parameters": {"type": "object", "properties": {"binary_data_size": {"type": "integer"}}},
        "data": {"type": "array", "items": {"type": "number", "nullable": True}}}},
    "InferResponse": {"type": "object", "required": ["model_name", "outputs"], "properties": {
        "model_name": {"type": "string"}, "model_version": {"type": "string"}, "id": {"type": "string"},
        "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/InferOutput"}}}},
    "TFStatus": {"type": "object", "required": ["model_version_status"], "properties": {"model_version_status": {"type": "array", "items": {
        "type": "object", "required": ["version", "state", "status"], "properties": {
            "version": {"type": "string"}, "state": {"type": "string", "enum": ["START", "LOADING", "AVAILABLE", "UNLOADING", "END"]},
            "status": {"type": "object", "required": ["error_code", "error_message"], "properties": {"error_code": {"type": "string"}, "error_message": {"type": "string"}}}}}}}},
    "TFPredictRequest": {"type": "object", "properties": {
        "signature_name": {"type": "string"},
        "instances": {"type": "array", "minItems": 1, "items": {}, "description": "One element per sample: an array shaped as the input, {\"INPUT\": array}, or {\"b64\": PNG or JPEG}."},
        "inputs": {"description": "The batch, columnar: an array with the batch first, or {\"INPUT\": array}."}}},
    "TFPredictResponse": {"type": "object", "properties": {
        "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/NestedNumbers"}},
        "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/NestedNumbers"}}}},
    "TFMetadata": {"type": "object", "required": ["model_spec", "metadata"], "properties": {
        "model_spec": {"type": "object", "properties": {"name": {"type": "string"}, "signature_name": {"type": "string"}, "version": {"type": "string"}}},
        "metadata": {"type": "object"}}},
    "TopClasses": {"type": "object", "additionalProperties": {"type": "number"}},
    "Ping": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
}
doc = {"openapi": "3.0.3",
       "info": {"title": "fovea serve", "version": "0.1.0",
                "description": "Fovea's inference server: the Open Inference Protocol (KServe v2) REST API with its binary tensor data extension, TF Serving's REST API, and a TorchServe-style image route. Errors are {\"error\": \"...\"}. See docs/SERVING.md."},
       "servers": [{"url": "http://127.0.0.1:8080"}],
       "paths": paths,
       "components": {"schemas": schemas, "responses": {
           "Error": {"description": "The request cannot be served as sent.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
           "Unavailable": {"description": "The model's queue is full, the request timed out waiting, or the version is unloading; retry after the Retry-After seconds.",
                           "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "FoveaServer", "Resources", "openapi.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"wrote {os.path.normpath(out)}")
