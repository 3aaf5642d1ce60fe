namespace DeepSharp.Optim;

/// <summary>
/// Something an optimizer trains: a <see cref="Tensor"/> itself, or a model's parameter that may get its tensor later
/// (DeepSharp.Layers' <c>Parameter</c>, whose shape the first batch may decide). The optimizer reads <see cref="Data"/> at
/// each step, so <c>new Sgd(net.Parameters(), lr: 0.1f)</c> works before the model has seen data, and
/// <c>new Sgd([w, b], lr: 0.1f)</c> takes tensors.
/// </summary>
public interface IParameter
{
    /// <summary>True once the tensor exists.</summary>
    bool IsInitialized { get; }

    /// <summary>The tensor (a float32 leaf); read only when <see cref="IsInitialized"/>.</summary>
    Tensor Data { get; }

    /// <summary>A name for messages (a dotted path such as "0.weight"), or "".</summary>
    string Path { get; }
}
