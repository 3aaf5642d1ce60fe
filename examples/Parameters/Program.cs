// "Parameter Management": a layer's state dict, all named parameters, access by path, and a nested rgnet.
using DeepSharp.Layers;

var X = Tensor.Rand([2, 4], generator: new Generator(0));
var net = new Sequential(new Dense(8), new Relu(), new Dense(1));
net.Call(X);
var layer2 = net[2].StateDict();
Console.WriteLine($"net[2].StateDict(): {string.Join(", ", layer2.Select(kv => $"{kv.Key} {Layout.Format(kv.Value.Shape)}"))}");
Expect.That(layer2.Keys.SequenceEqual(["weight", "bias"]), "a dense layer has weight and bias");
var bias = ((Dense)net[2]).Bias!;
Console.WriteLine($"net[2].Bias = {bias.Data}, grad = {(bias.Grad is null ? "null" : bias.Grad.ToString())}");
Expect.That(bias.Grad is null, "no gradient before backward");
var names = net.NamedParameters().Select(p => $"{p.Path} {Layout.Format(p.Parameter.Shape)}").ToList();
Console.WriteLine("all parameters: " + string.Join(", ", names));
Expect.That(net.NamedParameters().Select(p => p.Path).SequenceEqual(["0.weight", "0.bias", "2.weight", "2.bias"]), "dotted names");
Expect.That(ReferenceEquals(net.GetParameter("2.bias"), bias), "access by path gives the same parameter");

Block Block1() => new Sequential(new Dense(8), new Relu(), new Dense(4), new Relu());
Block Block2() { var s = new Sequential(); for (int i = 0; i < 4; i++) s.Add(Block1()); return s; }
var rgnet = new Sequential(Block2(), new Dense(1));
rgnet.Call(X);
Console.WriteLine(rgnet);
var deep = ((Dense)rgnet[0][1][0]).Bias!.Data;
Console.WriteLine($"rgnet[0][1][0].bias = {deep}");
Expect.That(deep.Shape.SequenceEqual(new[] { 8 }), "nested indexing reaches the first layer of the second block");
return Expect.ExitCode();
