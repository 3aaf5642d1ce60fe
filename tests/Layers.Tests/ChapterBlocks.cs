using DeepSharp.Layers;

namespace DeepSharp.Layers.Tests;

// The chapter's own blocks, written with the public API only.

/// <summary>The MLP of "Layers and Modules": a hidden layer and an output layer.</summary>
public sealed class Mlp : Block
{
    private readonly Dense _hidden, _out;
    public Mlp() { _hidden = Register("hidden", new Dense(256)); _out = Register("out", new Dense(10)); }
    protected override Tensor Forward(Tensor x) => _out.Call(_hidden.Call(x).Relu());
}

/// <summary>The chapter's MySequential: a user-written sequential block.</summary>
public sealed class MySequential : Block
{
    public MySequential(params Block[] blocks) { for (int i = 0; i < blocks.Length; i++) Register(i.ToString(), blocks[i]); }
    protected override Tensor Forward(Tensor x)
    {
        foreach (var b in Children()) x = b.Call(x);
        return x;
    }
}

/// <summary>FixedHiddenMLP: a constant random weight (a buffer), the same layer twice, and a while loop on the norm.</summary>
public sealed class FixedHiddenMlp : Block
{
    private readonly Tensor _randWeight;
    private readonly Dense _linear;
    public FixedHiddenMlp()
    {
        _randWeight = RegisterBuffer("rand_weight", Tensor.Rand([20, 20], generator: new Generator(1)));
        _linear = Register("linear", new Dense(20, 20));
    }
    protected override Tensor Forward(Tensor x)
    {
        x = _linear.Call(x);
        x = (x.MatMul(_randWeight) + 1f).Relu();
        x = _linear.Call(x); // the same layer again: its parameters are shared by both uses
        while (x.Abs().Sum().Item() > 1f) x = x / 2f;
        return x.Sum();
    }
}

/// <summary>NestMLP of the chimera.</summary>
public sealed class NestMlp : Block
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

/// <summary>CenteredLayer: no parameters, subtracts the mean.</summary>
public sealed class CenteredLayer : Block
{
    protected override Tensor Forward(Tensor x) => x - x.Mean();
}

/// <summary>MyLinear: its own weight and bias, then ReLU.</summary>
public sealed class MyLinear : Block
{
    private readonly Parameter _weight, _bias;
    public MyLinear(int inUnits, int units)
    {
        _weight = Register("weight", new Parameter([inUnits, units], Init.Normal()));
        _bias = Register("bias", new Parameter([units], Init.Normal()));
    }
    protected override Tensor Forward(Tensor x) => (x.MatMul(_weight) + _bias).Relu();
}

/// <summary>A block that forgot to register its child.</summary>
public sealed class Forgetful : Block
{
    private readonly Dense _hidden = new(4);
    protected override Tensor Forward(Tensor x) => _hidden.Call(x);
}

/// <summary>A block whose public field is swapped after it ran once: the swap must still be caught by the next call.</summary>
public sealed class Swappable : Block
{
    public Dense Head;
    public Swappable() => Head = Register("head", new Dense(2));
    protected override Tensor Forward(Tensor x) => Head.Call(x);
}
