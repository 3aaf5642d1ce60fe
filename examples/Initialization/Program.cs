// "Parameter Initialization": built-in initializers per block, different rules per layer, and a custom initializer.
using DeepSharp.Layers;

var net = new Sequential(new Dense(8, 4), new Relu(), new Dense(1, 8));
net.Apply(m => { if (m is Dense d) { Init.Normal(0f, 0.01f).ApplyTo(d.Weight); Init.Zeros.ApplyTo(d.Bias!); } });
net.Initialize();
var w0 = net.GetParameter("0.weight").Data;
Console.WriteLine($"normal(0, 0.01): {w0[0]}, bias {net.GetParameter("0.bias").Data}");
Expect.That(w0.ToArray<float>().All(v => MathF.Abs(v) < 0.05f), "normal(0, 0.01) weights are small");

int touched = net.Initialize(Init.Constant(1f), (path, _) => path.EndsWith("weight"));
Console.WriteLine($"constant(1) touched {touched} parameters: {net.GetParameter("0.weight").Data[0]}");
Expect.That(touched == 2 && net.GetParameter("2.weight").Data.ToArray<float>().All(v => v == 1f), "constant 1 on both weights");

net.Initialize(Init.XavierUniform(), (path, _) => path == "0.weight");
net.Initialize(Init.Constant(42f), (path, _) => path == "2.weight");
Console.WriteLine($"xavier: {net.GetParameter("0.weight").Data[0]}\nconstant 42: {net.GetParameter("2.weight").Data}");
Expect.That(net.GetParameter("2.weight").Data.ToArray<float>().All(v => v == 42f), "layer 2 holds 42");
Expect.That(net.Initialize(Init.Zeros, (path, _) => path == "5.weight") == 0, "a rule that matches nothing says so (0 touched)");

// The chapter's custom rule: U(-10, 10), then zero every weight with |w| < 5.
var myInit = Init.Custom("MyInit", (t, c) =>
{
    Console.WriteLine($"Init {c.Path} {Layout.Format(c.Shape)}");
    t.CopyFrom(Tensor.Rand(c.Shape, -10f, 10f, c.Generator, t.Device));
    t.MulInPlace(t.Abs().Ge(5f));
});
net.Initialize(myInit, (path, _) => path.EndsWith("weight"));
var custom = net.GetParameter("0.weight").Data;
Console.WriteLine($"custom: {custom[0]}");
Expect.That(custom.ToArray<float>().All(v => v == 0 || MathF.Abs(v) >= 5), "custom rule zeroes |w| < 5");
// The book's net[0].weight.data[:] += 1 and net[0].weight.data[0, 0] = 42: Values is the editable view (PyTorch's .data).
var w = net.GetParameter("0.weight");
w.Values.AddInPlace(1f);
w.Values[0, 0].FillInPlace(42f);
Console.WriteLine($"after += 1 and [0, 0] = 42: {w.Data[0]}");
Expect.That(custom[0, 0].Item() == 42f, "direct edits through Values change the model");
return Expect.ExitCode();
