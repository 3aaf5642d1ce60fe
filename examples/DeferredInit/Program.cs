// "Lazy Initialization": shapes unknown until the first batch, and the clear error when touched too early.
using DeepSharp.Layers;

var net = new Sequential(new Dense(256), new Relu(), new Dense(10));
Console.WriteLine($"before: {string.Join(", ", net.NamedParameters().Select(p => $"{p.Path} {Layout.Format(p.Parameter.Shape)}"))}");
Console.WriteLine(net);
try
{
    _ = net.GetParameter("0.weight").Data;
    Expect.That(false, "touching an uninitialized parameter throws");
}
catch (UninitializedParameterException e)
{
    Console.WriteLine($"touching it too early: {e.Message}");
    Expect.That(e.Message.Contains("0.weight") && e.Message.Contains("Materialize"), "the error names the path and the way out");
}
net.Call(Tensor.Rand([2, 20]));
Console.WriteLine(
    $"after one batch: {string.Join(", ", net.NamedParameters().Select(p => $"{p.Path} {Layout.Format(p.Parameter.Shape)}"))}");
Expect.That(net.GetParameter("0.weight").Shape.SequenceEqual(new[] { 256, 20 }), "the input width was inferred");
var dry = new Sequential(new Dense(64), new Relu(), new Dense(3)).Materialize([1, 7]);
Console.WriteLine($"dry run: {string.Join(", ", dry.Select(p => $"{p.Path} {Layout.Format(p.Shape)}"))}");
Expect.That(dry[0].Shape.SequenceEqual(new[] { 64, 7 }), "Materialize infers shapes without data");
return Expect.ExitCode();
