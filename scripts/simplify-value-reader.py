"""Fixes the value reader's batch to 1 and simplifies the graph with onnxsim, so that tract can
type it (the model as shipped has an `If` whose branches differ in shape); the width stays free.

    python simplify-value-reader.py IN.onnx OUT.onnx
"""
import sys

import onnx
import onnxsim

src, dst = sys.argv[1], sys.argv[2]
model = onnx.load(src)
batch = model.graph.input[0].type.tensor_type.shape.dim[0]
batch.ClearField("dim_param")
batch.dim_value = 1
simplified, ok = onnxsim.simplify(model)
if not ok:
    sys.exit("onnxsim could not check the simplified model")
left = [n.op_type for n in simplified.graph.node if n.op_type in ("If", "Loop")]
if left:
    sys.exit(f"control flow left after simplification: {left}")
onnx.save(simplified, dst)
