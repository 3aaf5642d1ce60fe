// The chapter's "GPUs" moment for the runtime core: list the devices, then compute the same thing on each and check it.
using DeepSharp;

Console.WriteLine(Device.Describe());
Console.WriteLine($"GPU count: {Device.GpuCount}; TryGpu() = {Device.TryGpu()}; TryGpu(10) = {Device.TryGpu(10)}; " +
                  $"TryAllGpus() = [{string.Join(", ", Device.TryAllGpus())}]");

var reference = Device.Cpu;
var devices = new List<Device> { Device.Cpu, Device.IlgpuCpu };
devices.AddRange(Device.TryAllGpus().Where(d => d != Device.Cpu));

float[]? expected = null;
bool ok = true;
foreach (var device in devices)
{
    // Same seed on every device: the counter-based generator gives the same numbers everywhere.
    var x = Tensor.Rand([4, 5], generator: new Generator(7), device: device);
    var w = Tensor.Randn([5, 3], generator: new Generator(8), device: device);
    var y = (x.MatMul(w) + 1f).Relu().Sum(axis: 0);
    var got = y.ToArray<float>();
    Console.WriteLine($"{device,-10} relu(x @ w + 1).sum(0) = {y}");
    expected ??= got;
    float err = got.Zip(expected, (a, b) => MathF.Abs(a - b)).Max();
    if (err > 1e-4f) { Console.WriteLine($"  MISMATCH vs {reference}: max |diff| = {err}"); ok = false; }
}

Console.WriteLine(ok ? "All devices agree." : "Devices disagree!");
return ok ? 0 : 1;
