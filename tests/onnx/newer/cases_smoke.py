"""A first newer-opset case: an op unchanged since opset 14 (Add) in a model
declaring opset 18, which must import at that version."""
from newer import case, node, np

rng = np.random.default_rng(18)
_a = rng.standard_normal((3, 4)).astype(np.float32)
_b = rng.standard_normal((4,)).astype(np.float32)
case("kiln_add_opset18", 18, [node("Add", ["a", "b"], ["y"])], {"a": _a, "b": _b}, {"y": _a + _b})
