using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>Adam with bias correction (Kingma &amp; Ba 2015, Algorithm 1; torch.optim.Adam with amsgrad off).</summary>
public sealed class Adam : Optimizer
{
    private readonly Dictionary<Tensor, int> _steps = new(ReferenceEqualityComparer.Instance);

    /// <summary>Adam over a model's parameters (<c>new Adam(net.Parameters())</c>, deferred ones included) or tensors that
    /// require grad (<c>new Adam([w, b])</c>).</summary>
    /// <param name="parameters">What to update.</param>
    /// <param name="lr">Step size (&gt; 0).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to the denominator for stability (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (≥ 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    public Adam(IEnumerable<IParameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0f) : base(parameters) => Configure(lr, beta1, beta2, eps, weightDecay);

    private void Configure(float lr, float beta1, float beta2, float eps, float weightDecay)
    {
        LearningRate = lr;
        Beta1 = beta1 is >= 0 and < 1 ? beta1
            : throw new ArgumentOutOfRangeException(nameof(beta1), $"Adam: beta1 must be in [0, 1), got {beta1}.");
        Beta2 = beta2 is >= 0 and < 1 ? beta2
            : throw new ArgumentOutOfRangeException(nameof(beta2), $"Adam: beta2 must be in [0, 1), got {beta2}.");
        Eps = eps > 0 && float.IsFinite(eps) ? eps
            : throw new ArgumentOutOfRangeException(nameof(eps), $"Adam: eps must be > 0, got {eps}.");
        WeightDecay = weightDecay >= 0 && float.IsFinite(weightDecay) ? weightDecay
            : throw new ArgumentOutOfRangeException(nameof(weightDecay), $"Adam: weight decay must be >= 0, got {weightDecay}.");
    }

    /// <summary>Step size; may be changed between steps.</summary>
    public float LearningRate
    {
        get;
        set => field = value > 0 && float.IsFinite(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"Adam: the learning rate must be > 0, got {value}.");
    }

    /// <summary>First-moment decay.</summary>
    public float Beta1 { get; private set; }
    /// <summary>Second-moment decay.</summary>
    public float Beta2 { get; private set; }
    /// <summary>Denominator epsilon.</summary>
    public float Eps { get; private set; }
    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; private set; }

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
