// "File I/O": a tensor, a list, a dictionary, and a model's parameters → file → a clone with equal outputs.
using DeepSharp.IO;
using DeepSharp.Layers;

var dir = Directory.CreateTempSubdirectory("deepsharp-files-").FullName;
string F(string name) => Path.Combine(dir, name);
var x = Tensor.Arange(4);
Checkpoint.Save(F("x-file"), x);
var x2 = Checkpoint.LoadTensor(F("x-file"));
Console.WriteLine($"x2 = {x2}");
Expect.That(x2.ToArray<float>().SequenceEqual(x.ToArray<float>()), "tensor round trip");
var y = Tensor.Zeros(4);
Checkpoint.Save(F("x-files"), [x, y]);
var xy = Checkpoint.LoadList(F("x-files"));
Console.WriteLine($"(x2, y2) = ({xy[0]}, {xy[1]})");
Checkpoint.Save(F("mydict"), new Dictionary<string, Tensor> { ["x"] = x, ["y"] = y });
var myDict = Checkpoint.LoadDict(F("mydict"));
Console.WriteLine($"mydict2 = {{{string.Join(", ", myDict.Select(kv => $"'{kv.Key}': {kv.Value}"))}}}");
Expect.That(myDict.Keys.SequenceEqual(["x", "y"]), "dictionary round trip keeps keys and order");

var net = new Sequential(new Dense(256), new Relu(), new Dense(10));
var X = Tensor.Randn([2, 20], generator: new Generator(0));
var Y = net.Call(X);
net.Save(F("mlp.params"));
var clone = new Sequential(new Dense(256), new Relu(), new Dense(10));
clone.Load(F("mlp.params"));
var Yclone = clone.Call(X);
Console.WriteLine($"Y_clone == Y: {string.Join(", ", Yclone.Eq(Y).ToArray<float>().Take(5))} …");
Expect.That(Yclone.ToArray<float>().SequenceEqual(Y.ToArray<float>()), "the clone's outputs equal the original's exactly");
Directory.Delete(dir, true);
return Expect.ExitCode();
