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
for n in (1024, 2048, 4096):
    a = torch.rand(n, n, device=d); b = torch.rand(n, n, device=d)
    print(f"sgemm n={n}: {2 * n**3 / median(lambda: a @ b, 10) / 1e12:.2f} TFLOP/s")
    a16 = a.bfloat16(); b16 = b.bfloat16()
    print(f"bf16 gemm n={n} (cuBLAS, tensor cores): {2 * n**3 / median(lambda: a16 @ b16, 10) / 1e12:.2f} TFLOP/s")
m = 16 << 20
x = torch.rand(m, device=d); y = torch.rand(m, device=d)
print(f"add on 16M floats: {12 * m / median(lambda: x + y, 20) / 1e9:.0f} GB/s")
print(f"relu on 16M floats: {8 * m / median(lambda: torch.relu(x), 20) / 1e9:.0f} GB/s")
s = torch.rand(2, 20, device=d)
print(f"one small elementwise op incl. synchronize: {median(lambda: s + 1, 200) * 1e6:.1f} us")
def queued():
    for _ in range(200):
        s + 1
print(f"small elementwise op, 200 queued then one synchronize: {median(queued, 20) / 200 * 1e6:.2f} us per op")

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

def mlp(sizes):
    layers = []
    for i in range(1, len(sizes)):
        layers.append(torch.nn.Linear(sizes[i - 1], sizes[i]))
        if i < len(sizes) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(d)

for name, sizes, batch in (("20-256-10", [20, 256, 10], 2), ("20-256-10", [20, 256, 10], 256),
                           ("784-1024-1024-10", [784, 1024, 1024, 10], 128)):
    net = mlp(sizes)
    x = torch.randn(batch, sizes[0], device=d); y = torch.arange(batch, device=d) % sizes[-1]
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    def step():
        opt.zero_grad(); loss_fn(net(x), y).backward(); opt.step()
    torch.cuda.reset_peak_memory_stats()
    t = median(step, 2001 if batch <= 2 else 301)
    print(f"Block step {name} batch {batch}: {t * 1e6:.1f} us, peak {torch.cuda.max_memory_allocated() / 2**20:.2f} MiB (incl. the model)")

conv = torch.nn.Conv2d(3, 32, 3, padding=1).to(d)
x = torch.randn(32, 3, 32, 32, device=d); gy = torch.randn(32, 32, 32, 32, device=d)
def conv_step():
    for p in conv.parameters():
        p.grad = None
    conv(x).backward(gy)
print(f"Conv2d 3->32 k3 p1 on [32, 3, 32, 32], forward + backward: {median(conv_step, 301) * 1e6:.1f} us "
      f"(cudnn.benchmark={torch.backends.cudnn.benchmark})")

cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                          torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                          torch.nn.Linear(128, 10)).to(d)
x = torch.rand(32, 1, 8, 8, device=d); y = torch.arange(32, device=d) % 10
opt = torch.optim.SGD(cnn.parameters(), lr=0.01)
loss_fn = torch.nn.CrossEntropyLoss()
def cnn_step():
    opt.zero_grad(); loss_fn(cnn(x), y).backward(); opt.step()
print(f"digits CNN training step, batch 32 of 8x8: {median(cnn_step, 301) * 1e6:.1f} us")

# Issue 18's sequence steps (the same work as OursSide.LstmStep / TransformerStep and Runtime.Bench `seq`): the median
# time and the CUDA kernels one step launches (torch.profiler's kernel events), eager mode.
def kernels_per_step(fn):
    try:
        from torch.profiler import profile, ProfilerActivity
        fn(); torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn(); torch.cuda.synchronize()
        return sum(e.count for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA)
    except Exception as e:  # the profiler needs CUPTI; the times above stand without it
        return f"? ({type(e).__name__}: {e})"

g = torch.Generator().manual_seed(18)
lstm = torch.nn.LSTM(28, 256).to(d); lm_out = torch.nn.Linear(256, 28).to(d)
lm_params = list(lstm.parameters()) + list(lm_out.parameters())
lm_opt = torch.optim.SGD(lm_params, lr=1.0)
tokens = torch.randint(0, 28, (35, 32), generator=g).to(d); labels = torch.randint(0, 28, (35 * 32,), generator=g).to(d)
def lstm_step():
    lm_opt.zero_grad()
    h, _ = lstm(torch.nn.functional.one_hot(tokens, 28).float())
    loss_fn(lm_out(h.reshape(35 * 32, 256)), labels).backward()
    torch.nn.utils.clip_grad_norm_(lm_params, 1.0)
    lm_opt.step()
print(f"LSTM language model step, [35, 32] tokens: {median(lstm_step, 31) * 1e3:.2f} ms, "
      f"{kernels_per_step(lstm_step)} kernels per step (cuDNN LSTM)")

embed = torch.nn.Embedding(1000, 128).to(d)
layers = [torch.nn.TransformerEncoderLayer(128, 4, 512, 0.0, batch_first=True).to(d) for _ in range(2)]
tf_out = torch.nn.Linear(128, 1000).to(d)
tf_params = list(embed.parameters()) + [p for l in layers for p in l.parameters()] + list(tf_out.parameters())
tf_opt = torch.optim.Adam(tf_params, lr=1e-3)
stream = torch.randint(0, 1000, (64, 33), generator=g).to(d)
tf_x, tf_y = stream[:, :32].contiguous(), stream[:, 1:].reshape(-1)
def transformer_step():
    tf_opt.zero_grad()
    h = embed(tf_x)
    for layer in layers:
        h = layer(h)
    loss_fn(tf_out(h).reshape(-1, 1000), tf_y).backward()
    tf_opt.step()
print(f"Transformer step, 2 encoder layers, [64, 32] tokens: {median(transformer_step, 31) * 1e3:.2f} ms, "
      f"{kernels_per_step(transformer_step)} kernels per step")
