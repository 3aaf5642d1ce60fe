#if TORCH_PEER
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

/// <summary>libtorch's side (TorchSharp, CPU): the same workloads as <see cref="OursSide"/>, written as a PyTorch user
/// writes them. Every call runs in a dispose scope, so tensors are freed as ours are.</summary>
sealed partial class TorchSide : ICpuSide
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

    public Action LeNetStep(bool batchNorm)
    {
        var net = batchNorm
            ? nn.Sequential(nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                nn.Flatten(), nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(), nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
                nn.Linear(84, 10))
            : nn.Sequential(nn.Conv2d(1, 6, 5, padding: 2), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.Sigmoid(),
                nn.AvgPool2d(2, 2), nn.Flatten(), nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10));
        return Step(new(x => net.forward(x), optim.SGD(net.parameters(), 0.01), rand(256, 1, 28, 28), Labels(256)));
    }

    /// <summary>d2l's ResNet-18 (§8.6) with a 3×3 stride-1 stem and no max-pool, for 28×28 images.</summary>
    public Action ResNetStep()
    {
        var layers = new List<nn.Module<Tensor, Tensor>> { nn.Conv2d(1, 64, 3, padding: 1), nn.BatchNorm2d(64), nn.ReLU() };
        int inC = 64;
        foreach (var (c, first) in new[] { (64, true), (128, false), (256, false), (512, false) })
            for (int i = 0; i < 2; i++)
            {
                bool down = i == 0 && !first;
                layers.Add(new TorchResidual(inC, c, down ? 2 : 1, down));
                inC = c;
            }
        layers.AddRange([nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10)]);
        var net = nn.Sequential(layers);
        return Step(new(x => net.forward(x), optim.SGD(net.parameters(), 0.01), rand(32, 1, 28, 28), Labels(32)));
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
/// <summary>d2l's Residual block: relu(bn2(conv2(relu(bn1(conv1(x))))) + (conv3(x) or x)).</summary>
sealed class TorchResidual : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv1, conv2, bn1, bn2;
    private readonly nn.Module<Tensor, Tensor>? conv3;

    public TorchResidual(int inC, int c, int stride, bool project) : base(nameof(TorchResidual))
    {
        conv1 = nn.Conv2d(inC, c, 3, stride: stride, padding: 1);
        conv2 = nn.Conv2d(c, c, 3, padding: 1);
        conv3 = project ? nn.Conv2d(inC, c, 1, stride: stride) : null;
        bn1 = nn.BatchNorm2d(c);
        bn2 = nn.BatchNorm2d(c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = nn.functional.relu(bn1.forward(conv1.forward(x)));
        y = bn2.forward(conv2.forward(y));
        return nn.functional.relu(y + (conv3 is null ? x : conv3.forward(x)));
    }
}
#endif
