using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>Stochastic gradient descent: p -= lr · (g + wd·p), with optional momentum (torch.optim.SGD).</summary>
/// <param name="parameters">Tensors to update.</param>
/// <param name="lr">Learning rate (&gt; 0).</param>
/// <param name="momentum">Momentum factor in [0, 1); 0 disables the buffer.</param>
/// <param name="weightDecay">L2 penalty factor (≥ 0).</param>
public sealed class Sgd(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float weightDecay = 0f) : Optimizer(parameters)
{
    /// <summary>Learning rate; may be changed between steps (schedules).</summary>
    public float LearningRate { get; set; } = lr > 0 ? lr : throw new ArgumentOutOfRangeException(nameof(lr), $"SGD: the learning rate must be > 0, got {lr}.");
    /// <summary>Momentum factor.</summary>
    public float Momentum { get; } = momentum is >= 0 and < 1 ? momentum : throw new ArgumentOutOfRangeException(nameof(momentum), $"SGD: momentum must be in [0, 1), got {momentum}.");
    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; } = weightDecay >= 0 ? weightDecay : throw new ArgumentOutOfRangeException(nameof(weightDecay), $"SGD: weight decay must be >= 0, got {weightDecay}.");

    /// <inheritdoc/>
    protected override int StateCount => Momentum == 0 ? 0 : 1;

    /// <inheritdoc/>
    protected override void Apply(Tensor p, Tensor g, Tensor m, Tensor v) =>
        Launch(p, g, m, v, new SgdStep { Lr = LearningRate, Momentum = Momentum, WeightDecay = WeightDecay, FirstStep = IsFirstStep(p) ? 1 : 0 });
}
