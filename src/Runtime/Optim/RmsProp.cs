using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>RMSprop (Hinton's lecture 6e; torch.optim.RMSprop): d = g + wd·p, v = α·v + (1 - α)·d², optionally centred
/// (divide by √(v - E[d]²) + ε instead of √v + ε), optionally with a momentum buffer of the scaled gradient.</summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>RMSprop over a model's parameters or tensors that require grad, as one group.</summary>
    /// <param name="parameters">What to update.</param>
    /// <param name="lr">Learning rate (≥ 0; PyTorch's default 0.01).</param>
    /// <param name="alpha">Smoothing constant of the square average, in [0, 1].</param>
    /// <param name="eps">Added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (≥ 0).</param>
    /// <param name="momentum">Momentum factor in [0, 1); 0 keeps no buffer.</param>
    /// <param name="centered">Divide by the estimated variance instead of the uncentred second moment.</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A tensor is not a float32 leaf that requires grad.</exception>
    public RmsProp(IEnumerable<IParameter> parameters, float lr = 1e-2f, float alpha = 0.99f, float eps = 1e-8f, float weightDecay = 0f,
        float momentum = 0f, bool centered = false)
        : this([ParamGroup.Whole(parameters)], lr, alpha, eps, weightDecay, momentum, centered) { }

    /// <summary>RMSprop over parameter groups, each with its own hyper-parameters (those a group leaves unset come from these
    /// arguments).</summary>
    /// <param name="groups">The parameter groups (a parameter may belong to one group only).</param>
    /// <param name="lr">Learning rate (≥ 0).</param>
    /// <param name="alpha">Smoothing constant of the square average, in [0, 1].</param>
    /// <param name="eps">Added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (≥ 0).</param>
    /// <param name="momentum">Momentum factor in [0, 1); 0 keeps no buffer.</param>
    /// <param name="centered">Divide by the estimated variance.</param>
    /// <exception cref="ArgumentNullException"><paramref name="groups"/> or an item is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A group sets a hyper-parameter RMSprop does not have, or a parameter is in two
    /// groups.</exception>
    public RmsProp(IEnumerable<ParamGroup> groups, float lr = 1e-2f, float alpha = 0.99f, float eps = 1e-8f, float weightDecay = 0f,
        float momentum = 0f, bool centered = false)
        : base(groups, [("lr", lr), ("alpha", alpha), ("eps", eps), ("weight_decay", weightDecay), ("momentum", momentum)]) =>
        (Alpha, Eps, WeightDecay, Momentum, Centered) = (alpha, eps, weightDecay, momentum, centered);

    /// <summary>The default smoothing constant (the constructor's).</summary>
    public float Alpha { get; }
    /// <summary>The default denominator epsilon.</summary>
    public float Eps { get; }
    /// <summary>The default L2 weight decay.</summary>
    public float WeightDecay { get; }
    /// <summary>The default momentum factor.</summary>
    public float Momentum { get; }
    /// <summary>Whether the step divides by the centred second moment.</summary>
    public bool Centered { get; }

    private protected override string Name => "RMSprop";
    private protected override string?[] SlotNames => ["momentum_buffer", "square_avg", "grad_avg"];
    private protected override IReadOnlyList<(string Name, bool Value)> Options => [("centered", Centered)];

    private protected override void Update(ParamGroup group, ParamState state, Tensor p, Tensor g)
    {
        float momentum = group["momentum"];
        if (momentum > 0) SlotOf(state, 0, p); // PyTorch starts the buffer at zero
        SlotOf(state, 1, p);
        if (Centered) SlotOf(state, 2, p);
        Launch(p, g, state, new RmsPropStep
        {
            Lr = group.LearningRate, Alpha = group["alpha"], Eps = group["eps"], WeightDecay = group.WeightDecay, Momentum = momentum,
            Variant = Centered ? RmsVariant.Centered : RmsVariant.Plain,
        });
    }
}
