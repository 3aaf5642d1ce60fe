using System.CommandLine;
using DeepSharp.Optim;

/// <summary>
/// The training apps' <c>--autocast</c>: float32 (none), or mixed precision with the products in bfloat16 or float16
/// (<see cref="Autocast"/>); float16 also scales the loss (<see cref="GradScaler"/>, saved in the checkpoint so
/// <c>--resume</c> continues exactly).
/// </summary>
public sealed class Precision
{
    /// <summary>The option, for a command's option list.</summary>
    public static Option<string> Option() => Cli.Choice("--autocast", "none", ["none", "bf16", "fp16"],
        "mixed precision: products in bfloat16 or float16 (fp16 scales the loss); none: float32 throughout");

    private readonly DType? _low;

    /// <summary>The choice <paramref name="name"/> ("none", "bf16" or "fp16") makes.</summary>
    public Precision(string name)
    {
        _low = name switch { "bf16" => DType.BFloat16, "fp16" => DType.Float16, _ => null };
        Scaler = _low == DType.Float16 ? new GradScaler() : null;
    }

    /// <summary>The loss scaler (float16 only).</summary>
    public GradScaler? Scaler { get; }

    /// <summary>Runs the forward pass and the loss in this precision.</summary>
    public IDisposable Scope() => _low is { } low ? Autocast.Enable(low) : Autocast.Disable();

    /// <summary>Backward from the (scaled) loss, with <paramref name="beforeStep"/> (e.g. clipping) on the true gradients,
    /// then the step (skipped by the scaler when a gradient overflowed).</summary>
    public void BackwardAndStep(Tensor loss, Optimizer opt, Action? beforeStep = null)
    {
        if (Scaler is null)
        {
            loss.Backward();
            beforeStep?.Invoke();
            opt.Step();
            return;
        }
        Scaler.Scale(loss).Backward();
        Scaler.Unscale(opt);
        beforeStep?.Invoke();
        Scaler.Step(opt);
        Scaler.Update();
    }
}
