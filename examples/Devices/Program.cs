// "GPUs": the device listing, TryGpu/TryAllGpus, tensors created on a device, copies between devices, a model moved to
// a GPU, and the mixed-device error. Without a GPU it says so and uses ILGPU's CPU simulator (which runs the GPU
// kernels) as the second device; every device must compute the same numbers.
using DeepSharp.Layers;

Console.WriteLine(Device.Describe());
Console.WriteLine($"GPU count: {Device.GpuCount}; TryGpu() = {Device.TryGpu()}; TryGpu(10) = {Device.TryGpu(10)}; " +
                  $"TryAllGpus() = [{string.Join(", ", Device.TryAllGpus())}]");
Expect.That(Device.TryGpu(Device.GpuCount) == Device.Cpu, "TryGpu falls back to the CPU");
var gpu = Device.TryGpu();
if (gpu == Device.Cpu) Console.WriteLine("No GPU here: the GPU steps below run on the ILGPU CPU simulator instead.");
var other = gpu == Device.Cpu ? Device.IlgpuCpu : gpu;

var X = Tensor.Ones([2, 3], device: other);
Console.WriteLine($"X = {X}");
var Y = Tensor.Rand([2, 3], generator: new Generator(7), device: other);
var Z = X.Copy(Device.Cpu);                        // an explicit copy between devices
Console.WriteLine($"Z = X.Copy(cpu) = {Z}");
Expect.That(ReferenceEquals(Z.To(Device.Cpu), Z), "To(its own device) returns the same tensor");
try
{
    _ = Y + Z;
    Expect.That(false, "mixing devices throws");
}
catch (DeviceMismatchException e)
{
    Console.WriteLine($"Y + Z: {e.Message}");
    Expect.That(e.Message.Contains("Add") && e.Message.Contains(other.ToString()) && e.Message.Contains("cpu"),
        "the error names the op and both devices");
}

var net = new Sequential(new Dense(1, 3));
net.Initialize();
var w = net.GetParameter("0.weight").Data;
net.To(other);                                      // in place: the same parameter and tensor objects
Console.WriteLine(
    $"net moved to {other}: weight on {net.GetParameter("0.weight").Data.Device}, same object: " +
    $"{ReferenceEquals(w, net.GetParameter("0.weight").Data)}");
var yDev = net.Call(X);
Console.WriteLine($"net(X) = {yDev}");
Expect.That(yDev.Device == other, "the model computes on its device");

// The same computation on every device gives the same numbers (counter-based random numbers are device-independent):
// every device the listing shows, OpenCL CPU runtimes (PoCL) and the simulator included.
var devices = Device.List().Select(i => i.Device).ToList();
Expect.That(devices.Contains(Device.Cpu) && devices.Contains(Device.IlgpuCpu), "the listing has the CPU and the simulator");
float[]? expected = null;
foreach (var device in devices)
{
    var x = Tensor.Rand([4, 5], generator: new Generator(7), device: device);
    var wts = Tensor.Randn([5, 3], generator: new Generator(8), device: device);
    var got = (x.MatMul(wts) + 1f).Relu().Sum(axis: 0).ToArray<float>();
    Console.WriteLine($"{device,-10} relu(x @ w + 1).sum(0) = [{string.Join(", ", got.Select(v => v.ToString("F4")))}]");
    expected ??= got;
    Expect.That(got.Zip(expected, (a, b) => MathF.Abs(a - b)).Max() < 1e-4f, $"{device} agrees with the CPU");
}
return Expect.ExitCode();
