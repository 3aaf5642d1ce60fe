"""PyTorch peer for benchmarks/Runtime.Bench (gpu): the same workloads, timed the same way (median, after warm-up),
run in the same session on the same GPU so the ratios in benchmarks/NOTES.md compare like with like."""
import time
import torch

def median(fn, reps):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]

torch.backends.cuda.matmul.allow_tf32 = False  # fp32 GEMM, as ours
d = torch.device("cuda:0")
print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}")
for n in (1024, 4096):
    a = torch.rand(n, n, device=d); b = torch.rand(n, n, device=d)
    print(f"sgemm n={n}: {2 * n**3 / median(lambda: a @ b, 10) / 1e12:.2f} TFLOP/s")
m = 16 << 20
x = torch.rand(m, device=d); y = torch.rand(m, device=d)
print(f"add on 16M floats: {12 * m / median(lambda: x + y, 20) / 1e9:.0f} GB/s")
print(f"relu on 16M floats: {8 * m / median(lambda: torch.relu(x), 20) / 1e9:.0f} GB/s")
s = torch.rand(2, 20, device=d)
print(f"one small elementwise op incl. synchronize: {median(lambda: s + 1, 200) * 1e6:.1f} us")

for batch in (2, 256):
    net = torch.nn.Sequential(torch.nn.Linear(20, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(d)
    x = torch.randn(batch, 20, device=d); y = (torch.arange(batch, device=d) % 10)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    def fwd():
        with torch.no_grad():
            net(x)
    def step():
        opt.zero_grad(); loss_fn(net(x), y).backward(); opt.step()
    print(f"MLP 20-256-10 batch {batch}: forward {median(fwd, 200) * 1e6:.1f} us, SGD step {median(step, 200) * 1e6:.1f} us")
