// "Layers and Modules": the MLP block, a hand-written sequential block, FixedHiddenMLP (control flow), the nested
// chimera, and MyNet (two convolutions, pooling, two dense layers) with its printed tree.
using DeepSharp.Layers;

var X = Tensor.Rand([2, 20], generator: new Generator(0));
var net = new Sequential(new Dense(256), new Relu(), new Dense(10));
Console.WriteLine($"net(X).shape = {Layout.Format(net.Call(X).Shape)}");
Expect.That(net.Call(X).Shape.SequenceEqual(new[] { 2, 10 }), "Sequential MLP output is [2, 10]");

var mlp = new Mlp();
Console.WriteLine($"MLP: {Layout.Format(mlp.Call(X).Shape)}");
var mySeq = new MySequential(new Dense(256), new Relu(), new Dense(10));
Expect.That(mySeq.Call(X).Shape.SequenceEqual(new[] { 2, 10 }), "MySequential output is [2, 10]");
var fixedMlp = new FixedHiddenMlp();
var s = fixedMlp.Call(X);
Console.WriteLine($"FixedHiddenMLP(X) = {s}");
Expect.That(s.Rank == 0 && MathF.Abs(s.Item()) <= 1f, "FixedHiddenMLP returns a scalar with |sum| <= 1");
var chimera = new Sequential(new NestMlp(), new Dense(20), new FixedHiddenMlp());
Console.WriteLine($"chimera(X) = {chimera.Call(X)}");

var myNet = new Sequential(new Conv2d(32, 3), new Relu(), new MaxPool2d(2), new Conv2d(64, 3), new Relu(), new MaxPool2d(2),
    new Flatten(), new Dense(256), new Relu(), new Dense(10));
var y = myNet.Call(Tensor.Rand([2, 1, 28, 28]));
Console.WriteLine(myNet);
Expect.That(y.Shape.SequenceEqual(new[] { 2, 10 }), "MyNet maps [2, 1, 28, 28] to [2, 10]");
Expect.That(myNet.ToString().Contains("(0): Conv2d(1 → 32"), "the tree shows the inferred input channels");
return Expect.ExitCode();

sealed class Mlp : Block
{
    private readonly Dense _hidden, _out;
    public Mlp() { _hidden = Register("hidden", new Dense(256)); _out = Register("out", new Dense(10)); }
    protected override Tensor Forward(Tensor x) => _out.Call(_hidden.Call(x).Relu());
}

sealed class MySequential : Block
{
    public MySequential(params Block[] blocks) { for (int i = 0; i < blocks.Length; i++) Register(i.ToString(), blocks[i]); }
    protected override Tensor Forward(Tensor x) { foreach (var b in Children()) x = b.Call(x); return x; }
}

sealed class FixedHiddenMlp : Block
{
    private readonly Tensor _randWeight;   // constant: a buffer, not a parameter
    private readonly Dense _linear;
    public FixedHiddenMlp()
    {
        _randWeight = RegisterBuffer("rand_weight", Tensor.Rand([20, 20], generator: new Generator(1)));
        _linear = Register("linear", new Dense(20, 20));
    }
    protected override Tensor Forward(Tensor x)
    {
        x = (_linear.Call(x).MatMul(_randWeight) + 1f).Relu();
        x = _linear.Call(x);                              // the same layer twice: shared parameters
        while (x.Abs().Sum().Item() > 1f) x = x / 2f;     // ordinary C# control flow
        return x.Sum();
    }
}

sealed class NestMlp : Block
{
    private readonly Sequential _net;
    private readonly Dense _linear;
    public NestMlp()
    {
        _net = Register("net", new Sequential(new Dense(64), new Relu(), new Dense(32), new Relu()));
        _linear = Register("linear", new Dense(16));
    }
    protected override Tensor Forward(Tensor x) => _linear.Call(_net.Call(x));
}
