"""Checks every file Fovea's tests wrote for other tools (FOVEA_INTEROP_DIR) with independent readers.

    python scripts/check_interop.py DIR        (needs: pip install h5py safetensors numpy)

CI runs it after the test suite (.ci/run makes the virtual environment), so Fovea's writers are
checked by readers Fovea did not write, not only by Fovea's own:
  *.h5           legacy Keras model and weights files: scripts/check_h5_interop.py's layout checks (h5py)
  *.safetensors  Fovea model files: opened with Python's safetensors; every tensor float32 and finite;
                 the architecture a Keras config; Fovea's checksum recomputed (scripts/check_safetensors.py)
  *.keras        Keras 3 archives: zip entries config.json, metadata.json and model.weights.h5; the
                 config a Keras model config; every weight a float32 dataset at layers/.../vars/<i> (h5py)
Exits 1 on the first kind of problem it finds, after printing every problem.
"""
import io, json, os, subprocess, sys, zipfile

import h5py
import numpy as np
from safetensors import safe_open

here = os.path.dirname(os.path.abspath(__file__))
problems = []


def problem(file, text):
    problems.append(f"{file}: {text}")
    print(f"PROBLEM {file}: {text}")


def check_model_config(file, config):
    if not isinstance(config, dict) or config.get("class_name") not in ("Sequential", "Functional", "Model"):
        return problem(file, f"architecture is not a Keras model config (class_name {config.get('class_name') if isinstance(config, dict) else type(config)})")
    layers = config.get("config", {}).get("layers")
    if not isinstance(layers, list) or not layers:
        return problem(file, "architecture has no layers")
    return len(layers)


def check_safetensors(path):
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
        count = 0
        for name in f.keys():
            t = f.get_tensor(name)
            if t.dtype != np.float32:
                problem(path, f"tensor {name} is {t.dtype}, not float32")
            if not np.all(np.isfinite(t)):
                problem(path, f"tensor {name} holds NaN or infinity")
            count += 1
    layers = check_model_config(path, json.loads(meta["architecture"])) if "architecture" in meta else 0
    result = subprocess.run([sys.executable, os.path.join(here, "check_safetensors.py"), path], capture_output=True, text=True)
    if result.returncode != 0 or "checksum matches" not in result.stdout:
        problem(path, f"checksum not confirmed: {result.stdout[-300:]}{result.stderr[-300:]}")
    print(f"ok {os.path.basename(path)}: {count} tensors, {layers} layers, checksum matches")


def check_keras(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        for entry in ("config.json", "metadata.json", "model.weights.h5"):
            if entry not in names:
                return problem(path, f"archive has no {entry} (entries: {names})")
        layers = check_model_config(path, json.loads(z.read("config.json")))
        json.loads(z.read("metadata.json"))
        arrays = 0
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h5:
            def visit(name, obj):
                nonlocal arrays
                if isinstance(obj, h5py.Dataset):
                    parts = name.split("/")
                    if parts[0] != "layers" or len(parts) < 4 or parts[-2] != "vars" or not parts[-1].isdigit():
                        problem(path, f"weight {name} is not at layers/.../vars/<i>")
                    if obj.dtype != np.float32:
                        problem(path, f"weight {name} is {obj.dtype}, not float32")
                    arrays += 1
            h5.visititems(visit)
    print(f"ok {os.path.basename(path)}: {layers} layers, {arrays} weight arrays")


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        print(__doc__)
        return 2
    folder = sys.argv[1]
    files = sorted(os.listdir(folder))
    if not any(name.endswith((".h5", ".safetensors", ".keras")) for name in files):
        print(f"{folder} holds no .h5, .safetensors or .keras files: the tests wrote nothing to check")
        return 1
    for name in files:
        path = os.path.join(folder, name)
        try:
            if name.endswith(".safetensors"):
                check_safetensors(path)
            elif name.endswith(".keras"):
                check_keras(path)
        except Exception as error:  # a reader failing on the file is what this script looks for
            problem(path, f"{type(error).__name__}: {error}")
    if any(name.endswith(".h5") for name in files):
        result = subprocess.run([sys.executable, os.path.join(here, "check_h5_interop.py"), folder], capture_output=True, text=True)
        print(result.stdout[-2000:], end="")
        if result.returncode != 0:
            problem(folder, f"check_h5_interop.py found problems:\n{result.stderr[-2000:]}")
    print(f"interop: {len(files)} files checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
