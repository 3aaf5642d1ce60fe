"""Run on a machine with PyTorch and the safetensors package (the GPU machine):
    python3 tests/IO.Tests/golden/pytorch_interop.py tests/IO.Tests/golden
Writes pytorch.safetensors (read by SafeTensorsGoldenTests) and checks that deepsharp.safetensors, written by
SafeTensorsGoldenTests.WriteOurs, loads in PyTorch with the expected values."""
import sys
import torch
from safetensors.torch import load_file, save_file

folder = sys.argv[1]
tensors = {
    "w": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
    "h": torch.tensor([0.5, -2.0], dtype=torch.float16),
    "b": torch.tensor([1.5, -0.25], dtype=torch.bfloat16),
    "ids": torch.tensor([3, -1], dtype=torch.int64),
    "d": torch.tensor([[1e-300]], dtype=torch.float64),
}
save_file(tensors, f"{folder}/pytorch.safetensors", metadata={"by": "pytorch"})
ours = load_file(f"{folder}/deepsharp.safetensors")
assert torch.equal(ours["x"], torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5), ours["x"]
assert torch.equal(ours["labels"], torch.tensor([7, 0, -3], dtype=torch.int64)), ours["labels"]
print("PyTorch read deepsharp.safetensors: OK; wrote pytorch.safetensors")
