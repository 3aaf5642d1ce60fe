#if TORCH_PEER
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

/// <summary>libtorch's side (TorchSharp, CPU): the same workloads as <see cref="OursSide"/>, written as a PyTorch user
/// writes them. Every call runs in a dispose scope, so tensors are freed as ours are.</summary>
sealed class TorchSide : ICpuSide
{
    public string Name => $"libtorch {__version__} (TorchSharp, CPU)";

    public void SetThreads(int threads) => set_num_threads(threads);

    static Action Scoped(Action body) => () =>
    {
        using var scope = NewDisposeScope();
        body();
    };

    public Action Gemm(int n)
    {
        var a = rand(n, n); var b = rand(n, n);
        return Scoped(() => mm(a, b));
    }

    public Action Unary(string op, int n)
    {
        var x = randn(n);
        return op == "relu" ? Scoped(() => nn.functional.relu(x)) : Scoped(() => x.exp());
    }

    public Action Add(int n)
    {
        var x = randn(n); var y = randn(n);
        return Scoped(() => x.add(y));
    }

    sealed record Mlp(Func<Tensor, Tensor> Net, optim.Optimizer Opt, Tensor X, Tensor Labels);

    static Mlp Tensors(int batch)
    {
        var w1 = (randn(20, 256) * 0.1f).requires_grad_(); var b1 = zeros(256).requires_grad_();
        var w2 = (randn(256, 10) * 0.1f).requires_grad_(); var b2 = zeros(10).requires_grad_();
        var parameters = new[] { w1, b1, w2, b2 }.Select(t => new Parameter(t));
        var p = parameters.ToArray();
        return new(x => x.mm(p[0]).add(p[1]).relu().mm(p[2]).add(p[3]), optim.SGD(p, 0.01), randn(batch, 20), Labels(batch));
    }

    static Mlp Blocks(int batch)
    {
        var net = nn.Sequential(("0", nn.Linear(20, 256)), ("1", nn.ReLU()), ("2", nn.Linear(256, 10)));
        return new(net.forward, optim.SGD(net.parameters(), 0.01), randn(batch, 20), Labels(batch));
    }

    static Tensor Labels(int batch) => arange(batch, ScalarType.Int64).remainder(10);

    static Action Forward(Mlp m) => Scoped(() =>
    {
        using var _ = no_grad();
        m.Net(m.X);
    });

    static Action Step(Mlp m) => Scoped(() =>
    {
        m.Opt.zero_grad();
        nn.functional.cross_entropy(m.Net(m.X), m.Labels).backward();
        m.Opt.step();
    });

    public Action MlpForward(int batch) => Forward(Tensors(batch));
    public Action MlpStep(int batch) => Step(Tensors(batch));
    public Action BlockForward(int batch) => Forward(Blocks(batch));
    public Action BlockStep(int batch) => Step(Blocks(batch));

    public Action ConvStep()
    {
        var conv = nn.Conv2d(3, 32, 3, padding: 1);
        var x = randn(32, 3, 32, 32); var gy = randn(32, 32, 32, 32);
        return Scoped(() =>
        {
            conv.zero_grad(set_to_none: true);
            conv.forward(x).backward([gy]);
        });
    }

    public Action CnnStep()
    {
        var net = nn.Sequential(nn.Conv2d(1, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding: 1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10));
        return Step(new(x => net.forward(x), optim.SGD(net.parameters(), 0.01), rand(32, 1, 8, 8), Labels(32)));
    }

    public (Action Save, Action Load) Checkpoint(string dir)
    {
        var net = nn.Sequential(("0", nn.Linear(784, 1024)), ("1", nn.ReLU()), ("2", nn.Linear(1024, 1024)), ("3", nn.ReLU()),
            ("4", nn.Linear(1024, 10)));
        var path = Path.Combine(dir, "torch.dat");
        net.save(path);
        return (() => net.save(path), () => net.load(path));
    }
}
#endif
