using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>Adam with bias correction (Kingma &amp; Ba 2015, Algorithm 1; torch.optim.Adam with amsgrad off).</summary>
/// <param name="parameters">Tensors to update.</param>
/// <param name="lr">Step size (&gt; 0).</param>
/// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
/// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
/// <param name="eps">Added to the denominator for stability (&gt; 0).</param>
/// <param name="weightDecay">L2 penalty added to the gradient (≥ 0).</param>
public sealed class Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
    float weightDecay = 0f) : Optimizer(parameters)
{
    private readonly Dictionary<Tensor, int> _steps = new(ReferenceEqualityComparer.Instance);

    /// <summary>Step size; may be changed between steps.</summary>
    public float LearningRate { get; set; } = lr > 0 ? lr : throw new ArgumentOutOfRangeException(nameof(lr), $"Adam: the learning rate must be > 0, got {lr}.");
    /// <summary>Moment decays.</summary>
    public float Beta1 { get; } = beta1 is >= 0 and < 1 ? beta1 : throw new ArgumentOutOfRangeException(nameof(beta1), $"Adam: beta1 must be in [0, 1), got {beta1}.");
    /// <summary>Second-moment decay.</summary>
    public float Beta2 { get; } = beta2 is >= 0 and < 1 ? beta2 : throw new ArgumentOutOfRangeException(nameof(beta2), $"Adam: beta2 must be in [0, 1), got {beta2}.");
    /// <summary>Denominator epsilon.</summary>
    public float Eps { get; } = eps > 0 ? eps : throw new ArgumentOutOfRangeException(nameof(eps), $"Adam: eps must be > 0, got {eps}.");
    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; } = weightDecay >= 0 ? weightDecay : throw new ArgumentOutOfRangeException(nameof(weightDecay), $"Adam: weight decay must be >= 0, got {weightDecay}.");

    /// <inheritdoc/>
    protected override int StateCount => 2;

    /// <inheritdoc/>
    protected override void Apply(Tensor p, Tensor g, Tensor m, Tensor v)
    {
        int t = _steps[p] = _steps.GetValueOrDefault(p) + 1; // per parameter: one that skipped steps is corrected for its own count
        Launch(p, g, m, v, new AdamStep
        {
            Lr = LearningRate, Beta1 = Beta1, Beta2 = Beta2, Eps = Eps, WeightDecay = WeightDecay,
            Correction1 = 1f - MathF.Pow(Beta1, t), Correction2 = 1f - MathF.Pow(Beta2, t),
        });
    }
}
