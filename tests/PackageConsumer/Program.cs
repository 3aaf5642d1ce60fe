// Train a model on your own data, as a user of the DeepSharp package does: a CSV file, then a folder of images. The data
// here is made up (SampleData.cs) so that the program runs anywhere. The regions <csv> and <images> are the README's
// example line for line (tools/check-package.sh checks that), and the docs' getting-started page includes them.
// Exits 1 if a model does not learn or its file does not load back.
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.Layers;
using DeepSharp.Optim;

Directory.SetCurrentDirectory(Directory.CreateTempSubdirectory("deepsharp-consumer-").FullName);
SampleData.WriteCsv("data.csv", rows: 300);
SampleData.WriteImages("images", perClass: 24);
var failures = new List<string>();

{
    // <first>
    var d = Device.TryGpu();                          // the first GPU (CUDA, else OpenCL), else the CPU
    var x = Tensor.Randn([2, 3], generator: new Generator(42), device: d);
    var w = Tensor.Ones([3, 4], device: d).RequiresGradient();
    var y = (x.MatMul(w) + 1f).Relu();                // broadcasting, C# operators, scalars on either side
    y.Sum().Backward();                               // w.Grad now holds d(sum y)/dw
    Console.WriteLine(w.Grad);
    // </first>
    if (w.Grad is null) failures.Add("first tensors: no gradient");
}

{
    // <csv>
    var device = Device.TryGpu();                           // the first GPU (CUDA, else OpenCL), else the CPU
    var data = Csv.ReadDataset("data.csv");                  // the label is the last column: 0, 1, 2, …
    var loader = new DataLoader(data, batchSize: 32, shuffle: true, seed: 0, device: device);
    var net = new Sequential(new Dense(64), new Relu(), new Dense(3));   // input size comes from the first batch
    var opt = new Adam(net.Parameters(), lr: 0.01f);
    float epochLoss = 0;
    for (int epoch = 1; epoch <= 10; epoch++)
    {
        epochLoss = 0;
        foreach (var (x, y) in loader)
        {
            using var scope = TensorScope.Begin();           // the step's tensors go back to the pool at the end
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(net.Call(x), y);
            loss.Backward();
            opt.Step();
            epochLoss += loss.Item() / loader.Count;
        }
        Console.WriteLine($"epoch {epoch}: loss {epochLoss:F4}");
    }
    net.Save("model.params");                                // later: net.Load("model.params")
    // </csv>
    // <evaluate>
    net.Eval();                                              // dropout off; batch norm uses its running statistics
    float correct = 0;
    using (Autograd.NoGrad())
        foreach (var (x, y) in loader)
        {
            using var scope = TensorScope.Begin();
            correct += Metrics.Accuracy(net.Call(x), y, reduction: Reduction.Sum).Item();
        }
    Console.WriteLine($"accuracy: {correct / loader.SampleCount:P1}");
    var again = new Sequential(new Dense(64), new Relu(), new Dense(3));
    again.Load("model.params");                              // strict: every name and shape must match
    // </evaluate>
    if (!(correct / loader.SampleCount > 0.9f)) failures.Add($"csv: training accuracy {correct / loader.SampleCount}");
    Check("csv", epochLoss, bar: 0.2f, net, new Sequential(new Dense(64), new Relu(), new Dense(3)), [4, 4], device);
}

{
    var device = Device.TryGpu();
    // <images>
    var images = new ImageFolder("images", height: 16, width: 16, channels: 1);   // images/<class>/<name>.png
    var loader = new DataLoader(images, batchSize: 16, shuffle: true, seed: 0, device: device);
    var net = new Sequential(new Conv2d(8, 3, padding: 1), new Relu(), new MaxPool2d(2), new Flatten(),
        new Dense(images.Classes.Count));
    // </images>
    var opt = new Adam(net.Parameters(), lr: 0.01f);
    float epochLoss = 0;
    for (int epoch = 1; epoch <= 10; epoch++)
    {
        epochLoss = 0;
        foreach (var (x, y) in loader)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(net.Call(x), y);
            loss.Backward();
            opt.Step();
            epochLoss += loss.Item() / loader.Count;
        }
        Console.WriteLine($"images, epoch {epoch}: loss {epochLoss:F4}");
    }
    net.Save("cnn.params");
    var twin = new Sequential(new Conv2d(8, 3, padding: 1), new Relu(), new MaxPool2d(2), new Flatten(),
        new Dense(images.Classes.Count));
    Check("images", epochLoss, bar: 0.2f, net, twin, [4, 1, 16, 16], device, "cnn.params");
}

if (failures.Count > 0)
{
    Console.Error.WriteLine(string.Join(Environment.NewLine, failures));
    return 1;
}
Console.WriteLine("consumer: both models learned and loaded back from their files");
return 0;

// The final epoch's loss is below the bar, and a fresh model loaded from the file computes what the trained one does.
void Check(string what, float finalLoss, float bar, Block trained, Block fresh, int[] inputShape, Device device,
    string file = "model.params")
{
    if (!(finalLoss < bar)) failures.Add($"{what}: the final loss {finalLoss} is not below {bar}");
    fresh.Load(file);
    fresh.To(device);
    var x = Tensor.Rand(inputShape, generator: new Generator(1), device: device);
    var diff = (trained.Call(x) - fresh.Call(x)).Abs().Max().Item();
    if (diff != 0) failures.Add($"{what}: the model loaded from {file} differs from the trained one by {diff}");
}
