using System.Runtime.CompilerServices;
using DeepSharp.Ops;

namespace DeepSharp;

/// <summary>
/// The gradient rule of a custom unary op (<see cref="Tensor.Map{TOp}(TOp, UnaryGradient?, string?)"/>): dL/dx from the
/// op's input <paramref name="x"/>, its output <paramref name="y"/> and dL/dy <paramref name="grad"/>, all of x's shape,
/// written with tensor ops (it runs under <see cref="Autograd.NoGrad"/>, on their device). Never change its arguments in
/// place.
/// </summary>
/// <returns>dL/dx, of x's shape.</returns>
public delegate Tensor UnaryGradient(Tensor x, Tensor y, Tensor grad);

/// <summary>
/// The gradient rule of a custom binary op (<see cref="Tensor.Map{TOp}(Tensor, Tensor, TOp, BinaryGradient?, string?)"/>):
/// (dL/da, dL/db) from the inputs, the output <paramref name="y"/> and dL/dy <paramref name="grad"/>, written with tensor ops
/// (under <see cref="Autograd.NoGrad"/>). y and grad have the broadcast shape; return gradients of that shape (or of the
/// input's own shape): the runtime sums broadcast dims back to each input's shape. Never change its arguments in place.
/// </summary>
/// <returns>dL/da and dL/db; null for an input that gets no gradient.</returns>
public delegate (Tensor? A, Tensor? B) BinaryGradient(Tensor a, Tensor b, Tensor y, Tensor grad);

// Custom elementwise ops: the one extension point of the runtime. A user's op struct runs in the same kernels and CPU loops
// as the built-in ones; its gradient rule is recorded like theirs.
public sealed partial class Tensor
{
    /// <summary>
    /// y = op(x) elementwise with a custom op struct (see <see cref="IUnaryOp"/>), on this tensor's device: the CPU runs the
    /// op's Vector256 rule (Vector128 on Arm64), accelerators (CUDA, OpenCL, the ILGPU simulator) its scalar rule, compiled
    /// once per op type. x
    /// may be any view; y is a new dense tensor of x's shape and dtype (float32 or float64). Autograd records y with
    /// <paramref name="gradient"/>.
    /// </summary>
    /// <example><code>
    /// public struct Swish : IUnaryOp   // public: GPU kernels are compiled from it
    /// {
    ///     public float Apply(float x) => x / (1f + MathF.Exp(-x));
    ///     public double Apply(double x) => x / (1.0 + Math.Exp(-x));   // float64 tensors
    ///     public Vector256&lt;float&gt; Apply(Vector256&lt;float&gt; x) => x / (Vector256&lt;float&gt;.One + Vector256.Exp(-x));
    ///     public Vector128&lt;float&gt; Apply(Vector128&lt;float&gt; x) => x / (Vector128&lt;float&gt;.One + Vector128.Exp(-x));
    /// }
    /// var y = x.Map(new Swish(), (x, y, g) => g * (y + (1f - y) * x.Sigmoid()));
    /// </code></example>
    /// <param name="op">The op; its fields are its parameters (a struct passed by value to every kernel).</param>
    /// <param name="gradient">dL/dx from (x, y, dL/dy); null when the op has no gradient (a mask or a rounding): its result then
    /// never requires grad.</param>
    /// <param name="name">The name autograd shows (<see cref="GradFn"/>); the op type's name by default.</param>
    /// <exception cref="NotSupportedException">This tensor is not float32 or float64, or TOp cannot run in GPU kernels (not public, or
    /// holding references).</exception>
    /// <exception cref="ObjectDisposedException">This tensor was disposed.</exception>
    public Tensor Map<TOp>(TOp op, UnaryGradient? gradient, string? name = null) where TOp : struct, IUnaryOp
    {
        string opName = name ?? typeof(TOp).Name;
        CustomOp<TOp>.Check(opName);
        var y = Map(opName, this, op);
        return gradient is not null && Autograd.Needed(this) ? RecordUnary(opName, this, y, gradient) : y;
    }

    /// <summary>
    /// y = op(a, b) elementwise with numpy broadcasting and a custom op struct (see <see cref="IBinaryOp"/>), on the operands'
    /// device (the CPU runs its Vector256 or Vector128 rule, accelerators its scalar rule). Autograd records y with
    /// <paramref name="gradient"/>, whose results are summed back to each input's shape.
    /// </summary>
    /// <param name="a">The left operand (float32 or float64; mixed operands compute in float64).</param>
    /// <param name="b">The right operand (float32 or float64, same device).</param>
    /// <param name="op">The op; its fields are its parameters.</param>
    /// <param name="gradient">(dL/da, dL/db) from (a, b, y, dL/dy); null when the op has no gradient.</param>
    /// <param name="name">The name autograd shows; the op type's name by default.</param>
    /// <exception cref="ArgumentNullException">a or b is null.</exception>
    /// <exception cref="ArgumentException">The shapes do not broadcast.</exception>
    /// <exception cref="DeviceMismatchException">a and b are on different devices.</exception>
    /// <exception cref="NotSupportedException">An operand is not float32 or float64, or TOp cannot run in GPU kernels.</exception>
    public static Tensor Map<TOp>(Tensor a, Tensor b, TOp op, BinaryGradient? gradient, string? name = null)
        where TOp : struct, IBinaryOp
    {
        string opName = name ?? typeof(TOp).Name;
        CustomOp<TOp>.Check(opName);
        var y = Map(opName, a, b, op);
        return gradient is not null && Autograd.Needed(a, b) ? RecordBinary(opName, a, b, y, gradient) : y;
    }

    /// <summary>What keeps an op struct out of GPU kernels, found once per type: ILGPU compiles the struct's code into each
    /// kernel and its launchers (in a dynamic assembly named ILGPURuntime) pass the struct by value.</summary>
    private static class CustomOp<TOp> where TOp : struct
    {
        private static readonly string? Problem = Find();

        public static void Check(string op)
        {
            if (Problem is not null) throw new NotSupportedException($"{op}: the op struct {typeof(TOp)} {Problem}.");
        }

        private static string? Find()
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<TOp>())
                return "holds references; GPU kernels take plain values, so give it only value-type fields (float, int, structs of them)";
            for (var t = typeof(TOp); t is not null; t = t.DeclaringType)
                if (!(t.IsPublic || t.IsNestedPublic || t.IsNotPublic || t.IsNestedAssembly || t.IsNestedFamORAssem))
                    return "is private or protected; GPU kernels cannot reach it: make it public";
            if (typeof(TOp).IsVisible || typeof(TOp).Assembly.GetCustomAttributes(typeof(InternalsVisibleToAttribute), false)
                    .Any(a => ((InternalsVisibleToAttribute)a).AssemblyName == "ILGPURuntime"))
                return null;
            return "is internal; GPU kernels cannot reach it: make it public, or let ILGPU's launchers see it with " +
                "[assembly: System.Runtime.CompilerServices.InternalsVisibleTo(\"ILGPURuntime\")]";
        }
    }
}
