using DeepSharp;
using static Harness;

/// <summary>`seq [device]` and part of `gpu`: issue 18's sequence steps on one device.</summary>
static class SequenceBench
{
    // Issue 18's two steps (OursSide: the LSTM language model and the Transformer encoder step, the peer table's rows) on one
    // device: the median time and the kernel launches of one step (the same sequence of kernels on every accelerator, so the
    // simulator and OpenCL count what CUDA launches).
    public static void Run(Device d, int reps)
    {
        Console.WriteLine($"\n## The sequence models' training steps on {d}, ms — median of {reps}; kernel launches per step");
        Console.WriteLine("| step | ms | launches |");
        Console.WriteLine("|---|---|---|");
        var ours = new OursSide(d);
        foreach (var (name, step) in new (string, Action?)[] { ("LSTM language model, [35, 32] tokens", ours.LstmStep()),
                     ("Transformer, 2 encoder layers, [64, 32] tokens", ours.TransformerStep()) })
        {
            if (step is null) continue;
            double t = Median(reps, step, d == Device.Cpu ? null : d.Synchronize) * 1e3;
            long l0 = d.Stats.KernelLaunches;
            step();
            Console.WriteLine($"| {name} | {t:F2} | {d.Stats.KernelLaunches - l0} |");
        }
    }
}
