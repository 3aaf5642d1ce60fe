namespace DeepSharp.Optim;

/// <summary>
/// Something an optimizer trains that may get its tensor later: a model's parameter whose shape the first batch decides
/// (DeepSharp.Layers' <c>Parameter</c> implements it). The optimizer reads <see cref="Data"/> at each step, so
/// <c>new Sgd(net.Parameters(), lr: 0.1f)</c> works before the model has seen data.
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
