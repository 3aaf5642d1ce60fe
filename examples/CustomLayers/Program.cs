// "Custom Layers": CenteredLayer without parameters, MyLinear with its own, both inside Sequential.
using DeepSharp.Layers;

var centered = new CenteredLayer().Call(Tensor.From(new float[] { 1, 2, 3, 4, 5 }));
Console.WriteLine($"CenteredLayer([1..5]) = {centered}");
Expect.That(MathF.Abs(centered.Mean().Item()) < 1e-6f, "centered output has mean 0");
var net = new Sequential(new Dense(128), new CenteredLayer());
var mean = net.Call(Tensor.Rand([4, 8])).Mean().Item();
Console.WriteLine($"mean after Dense + CenteredLayer: {mean}");
Expect.That(MathF.Abs(mean) < 1e-5f, "mean ≈ 0 inside Sequential");

var linear = new MyLinear(5, 3);
linear.Initialize(); // parameters get data when the model is initialized or first run
Console.WriteLine(
    $"MyLinear(5, 3) weight: {linear.StateDict()["weight"].Shape.Length}-D {Layout.Format(linear.StateDict()["weight"].Shape)}");
var model = new Sequential(new MyLinear(64, 8), new MyLinear(8, 1));
var y = model.Call(Tensor.Rand([2, 64]));
Console.WriteLine($"Sequential(MyLinear(64, 8), MyLinear(8, 1))(X) = {y}");
y.Sum().Backward();
Expect.That(model.ParametersWithoutGrad().Count == 0, "gradients reach MyLinear's own parameters");
// The ReLU at the end may cut the whole output (as it does in the book's run), which leaves every gradient zero: the
// first layer's eight outputs show that nonzero gradients flow into its weight.
var first = new MyLinear(64, 8);
first.Call(Tensor.Rand([2, 64])).Sum().Backward();
var firstGrad = first.NamedParameters().Single(p => p.Path == "weight").Parameter.Data.Grad!;
Expect.That(firstGrad.Abs().Max().Item() > 0, "a nonzero gradient flows into MyLinear's weight");

// Beyond the chapter: a block of two inputs (attention and recurrent layers take several) derives from Block<TIn, TOut>.
var gate = new ContextGate(8);
var gated = gate.Call((Tensor.Rand([2, 8]), Tensor.Rand([2, 5])));
Console.WriteLine($"ContextGate((x [2, 8], context [2, 5])) → {Layout.Format(gated.Shape)}; state: " +
    string.Join(", ", gate.StateDict().Keys));
Expect.That(gated.Shape.SequenceEqual([2, 8]) && gate.StateDict().Count == 2, "a two-input block runs and has a state dict");
return Expect.ExitCode();

/// <summary>x · σ(W·context + b): the context decides how much of each feature passes.</summary>
sealed class ContextGate : Block<(Tensor X, Tensor Context), Tensor>
{
    private readonly Dense _gate;
    public ContextGate(int features) => _gate = Register("gate", new Dense(features));
    protected override Tensor Forward((Tensor X, Tensor Context) input) => input.X * _gate.Call(input.Context).Sigmoid();
}

sealed class CenteredLayer : Block
{
    protected override Tensor Forward(Tensor x) => x - x.Mean();
}

sealed class MyLinear : Block
{
    private readonly Parameter _weight, _bias;
    public MyLinear(int inUnits, int units)
    {
        _weight = Register("weight", new Parameter([inUnits, units], Init.Normal()));
        _bias = Register("bias", new Parameter([units], Init.Normal()));
    }
    protected override Tensor Forward(Tensor x) => (x.MatMul(_weight) + _bias).Relu();
}
