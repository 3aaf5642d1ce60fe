// "Tied Parameters": one layer used twice is one object; gradients of both uses add up.
using DeepSharp.Layers;

var shared = new Dense(8);
var net = new Sequential(new Dense(8), new Relu(), shared, new Relu(), shared, new Relu(), new Dense(1));
var X = Tensor.Rand([2, 4], generator: new Generator(0));
net.Call(X);
Console.WriteLine($"net[2] and net[4] are the same object: {ReferenceEquals(net[2], net[4])}");
using (Autograd.NoGrad()) ((Dense)net[2]).Weight.Data[0, 0].FillInPlace(100f);
Console.WriteLine($"after setting net[2].weight[0, 0] = 100: net[4].weight[0, 0] = {((Dense)net[4]).Weight.Data[0, 0].Item()}");
Expect.That(((Dense)net[4]).Weight.Data[0, 0].Item() == 100f, "changing one changes both");
Expect.That(net.NamedParameters().Count() == 6, "the shared parameters are listed once");

// Gradients: d/dw of both uses is the sum of the two contributions.
var w = Tensor.FromArray(new float[] { 0.5f, -1f }).RequiresGradient();
var x = Tensor.FromArray(new float[] { 3f, 2f });
(w * (w * x)).Sum().Backward();
Console.WriteLine($"y = w·(w·x): dy/dw = {w.Grad} (expected 2·w·x = [3, -4])");
Expect.That(w.Grad!.ToArray<float>().SequenceEqual([3f, -4f]), "tied gradients add up");
net.Call(X).Sum().Backward();
Expect.That(shared.Weight.Grad is not null && net.ParametersWithoutGrad().Count == 0, "every parameter received a gradient");
return Expect.ExitCode();
