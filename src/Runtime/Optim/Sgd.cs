using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>Stochastic gradient descent: p -= lr · (g + wd·p), with optional momentum (torch.optim.SGD).</summary>
public sealed class Sgd : Optimizer
{
    /// <summary>SGD over a model's parameters (<c>new Sgd(net.Parameters(), lr: 0.1f)</c>, deferred ones included) or
    /// tensors that require grad (<c>new Sgd([w, b], lr: 0.1f)</c>).</summary>
    /// <param name="parameters">What to update.</param>
    /// <param name="lr">Learning rate (&gt; 0).</param>
    /// <param name="momentum">Momentum factor in [0, 1); 0 disables the buffer.</param>
    /// <param name="weightDecay">L2 penalty factor (≥ 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    public Sgd(IEnumerable<IParameter> parameters, float lr, float momentum = 0f, float weightDecay = 0f) : base(parameters) =>
        (LearningRate, Momentum, WeightDecay) = Checked(lr, momentum, weightDecay);

    private static (float, float, float) Checked(float lr, float momentum, float weightDecay) =>
    (
        lr > 0 && float.IsFinite(lr) ? lr
            : throw new ArgumentOutOfRangeException(nameof(lr), $"SGD: the learning rate must be > 0, got {lr}."),
        momentum is >= 0 and < 1 ? momentum
            : throw new ArgumentOutOfRangeException(nameof(momentum), $"SGD: momentum must be in [0, 1), got {momentum}."),
        weightDecay >= 0 && float.IsFinite(weightDecay) ? weightDecay
            : throw new ArgumentOutOfRangeException(nameof(weightDecay), $"SGD: weight decay must be >= 0, got {weightDecay}.")
    );

    /// <summary>Learning rate; may be changed between steps (schedules).</summary>
    public float LearningRate
    {
        get;
        set => field = value > 0 && float.IsFinite(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"SGD: the learning rate must be > 0, got {value}.");
    }

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }
    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    protected override int StateCount => Momentum == 0 ? 0 : 1;

    /// <inheritdoc/>
    protected override void Apply(Tensor p, Tensor g, Tensor m, Tensor v) =>
        Launch(p, g, m, v, new SgdStep
        {
            Lr = LearningRate, Momentum = Momentum, WeightDecay = WeightDecay,
            Buffer = IsFirstStep(p) ? MomentumBuffer.Start : MomentumBuffer.Update,
        });
}
