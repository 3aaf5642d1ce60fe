using DeepSharp.Backends;

namespace DeepSharp;

// Gradient rules of the sliding-window ops (im2col, max pooling and adaptive max pooling): each folds the windows' gradients
// back onto the input.
internal static partial class Grads
{
    /// <summary>Windows (im2col): every window element's gradient added to the input element it read (col2im).</summary>
    public static Tensor Windows(Tensor g, WindowArgs a) => Tensor.FoldWindows(g, a);

    /// <summary>Max pooling: each window's gradient split evenly among its elements equal to the max.</summary>
    public static Tensor MaxPool(Tensor xd, Tensor y, Tensor g, WindowArgs a) => Tensor.MaxPoolBackward(xd, y, g, a);

    /// <summary>Average pooling: each window's gradient spread evenly over its KH·KW positions (those in the padding
    /// dropped).</summary>
    public static Tensor AvgPool(Tensor g, WindowArgs a) => Tensor.AvgPoolBackward(g, a);

    /// <summary>Adaptive max pooling: each bin's gradient split evenly among its elements equal to the max.</summary>
    public static Tensor AdaptiveMax(Tensor xd, Tensor y, Tensor g, AdaptiveArgs a) => Tensor.AdaptiveMaxBackward(xd, y, g, a);
}
