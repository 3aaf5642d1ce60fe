using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>Adagrad (Duchi et al. 2011; torch.optim.Adagrad): d = g + wd·p, sum += d², p -= clr·d / (√sum + ε) with
/// clr = lr / (1 + (t - 1)·lr_decay) at the parameter's step t.</summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Adagrad over a model's parameters or tensors that require grad, as one group.</summary>
    /// <param name="parameters">What to update.</param>
    /// <param name="lr">Learning rate (≥ 0; PyTorch's default 0.01).</param>
    /// <param name="lrDecay">Learning-rate decay (≥ 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (≥ 0).</param>
    /// <param name="initialAccumulatorValue">The sum's starting value (≥ 0).</param>
    /// <param name="eps">Added to the denominator (&gt; 0).</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A tensor is not a float32 leaf that requires grad.</exception>
    public Adagrad(IEnumerable<IParameter> parameters, float lr = 1e-2f, float lrDecay = 0f, float weightDecay = 0f,
        float initialAccumulatorValue = 0f, float eps = 1e-10f)
        : this([ParamGroup.Whole(parameters)], lr, lrDecay, weightDecay, initialAccumulatorValue, eps) { }

    /// <summary>Adagrad over parameter groups, each with its own hyper-parameters (those a group leaves unset come from these
    /// arguments).</summary>
    /// <param name="groups">The parameter groups (a parameter may belong to one group only).</param>
    /// <param name="lr">Learning rate (≥ 0).</param>
    /// <param name="lrDecay">Learning-rate decay (≥ 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (≥ 0).</param>
    /// <param name="initialAccumulatorValue">The sum's starting value (≥ 0).</param>
    /// <param name="eps">Added to the denominator (&gt; 0).</param>
    /// <exception cref="ArgumentNullException"><paramref name="groups"/> or an item is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException">A group sets a hyper-parameter Adagrad does not have, or a parameter is in two
    /// groups.</exception>
    public Adagrad(IEnumerable<ParamGroup> groups, float lr = 1e-2f, float lrDecay = 0f, float weightDecay = 0f,
        float initialAccumulatorValue = 0f, float eps = 1e-10f)
        : base(groups, [("lr", lr), ("lr_decay", lrDecay), ("weight_decay", weightDecay),
            ("initial_accumulator_value", initialAccumulatorValue), ("eps", eps)]) =>
        (LrDecay, WeightDecay, InitialAccumulatorValue, Eps) = (lrDecay, weightDecay, initialAccumulatorValue, eps);

    /// <summary>The default learning-rate decay (the constructor's).</summary>
    public float LrDecay { get; }
    /// <summary>The default L2 weight decay.</summary>
    public float WeightDecay { get; }
    /// <summary>The default starting value of the sum.</summary>
    public float InitialAccumulatorValue { get; }
    /// <summary>The default denominator epsilon.</summary>
    public float Eps { get; }

    private protected override string?[] SlotNames => ["sum", null, null];

    private protected override void Update(ParamGroup group, ParamState state, Tensor p, Tensor g)
    {
        SlotOf(state, 0, p, group["initial_accumulator_value"]);
        double clr = group.LearningRate / (1 + (state.Step - 1) * (double)group["lr_decay"]);
        Launch(p, g, state, new AdagradStep { Clr = (float)clr, ClrD = clr, Eps = group["eps"], WeightDecay = group.WeightDecay });
    }
}
