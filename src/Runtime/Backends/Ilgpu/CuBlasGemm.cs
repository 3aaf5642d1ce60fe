using ILGPU;
using ILGPU.Runtime.Cuda;

namespace DeepSharp.Backends.Ilgpu;

internal sealed partial class IlgpuBackend
{
    private CuBlas? _cublas;
    private bool _cublasTried;

    /// <summary>Whether GEMM may use cuBLAS on CUDA (default true; DEEPSHARP_NO_CUBLAS=1 turns it off). Benchmarks switch
    /// it off to measure the C# tiled kernel, which is what OpenCL devices run.</summary>
    public bool UseCuBlas { get; set; } = Environment.GetEnvironmentVariable("DEEPSHARP_NO_CUBLAS") != "1";

    /// <summary>Smallest M·N·K sent to cuBLAS (16× that for batched products, which cuBLAS runs as one call per entry).</summary>
    public const long CuBlasMinWork = 1 << 20;

    /// <summary>Why cuBLAS is or is not used on this device (null before the first GEMM on CUDA).</summary>
    public string? CuBlasStatus { get; private set; }

    /// <summary>
    /// Runs the product through cuBLAS when this is a CUDA device and the library loads. Row-major C = A·B is column-major
    /// Cᵀ = Bᵀ·Aᵀ, so B is passed first; a transposed view becomes a transpose flag instead of a copy.
    /// </summary>
    private bool TryCuBlas(Storage a, Storage b, Storage c, GemmArgs g)
    {
        if (Accelerator is not CudaAccelerator cuda || !UseCuBlas) return false;
        // Small products go to the C# kernel: one launch with the bias fused, where cuBLAS costs a call per batch entry plus
        // its own host-side setup (the step of a small MLP is launch-bound).
        long work = (long)g.M * g.N * g.K;
        if (work < CuBlasMinWork || (g.Batch > 1 && work < CuBlasMinWork * 16)) return false;
        if (!_cublasTried)
        {
            _cublasTried = true;
            try
            {
                _cublas = new CuBlas(cuda) { PointerMode = CuBlasPointerMode.Host, Stream = (CudaStream)cuda.DefaultStream };
                CuBlasStatus = $"cuBLAS {_cublas.Version}";
            }
            catch (Exception e) { CuBlasStatus = $"cuBLAS unavailable, using the C# tiled GEMM ({e.GetType().Name}: {e.Message})"; }
        }
        if (_cublas == null) return false;
        // In column-major terms our row-major B is an N×K matrix (op N, ld = RowB) or, for a transposed view, op T.
        if (!Operand(g.RowB, g.ColB, g.N, g.K, out var opB, out int ldb) || !Operand(g.RowA, g.ColA, g.K, g.M, out var opA, out int lda))
            return false;
        var av = V<float>(a); var bv = V<float>(b); var cv = V<float>(c);
        _launches += g.Batch;
        for (int i = 0; i < g.Batch; i++)
            _cublas.Gemm(opB, opA, g.N, g.M, g.K, 1f,
                bv.SubView(g.OffB + i * g.BatchB), ldb, av.SubView(g.OffA + i * g.BatchA), lda,
                0f, cv.SubView(i * g.M * g.N, g.M * g.N), g.N);
        return true;
    }

    /// <summary>Row stride / column stride → cuBLAS op and leading dimension for a column-major rows×cols view.</summary>
    private static bool Operand(int rowStride, int colStride, int cols, int rows, out CuBlasOperation op, out int ld)
    {
        if (colStride == 1 && rowStride >= Math.Max(cols, 1)) { op = CuBlasOperation.NonTranspose; ld = rowStride; return true; }
        if (rowStride == 1 && colStride >= Math.Max(rows, 1)) { op = CuBlasOperation.Transpose; ld = colStride; return true; }
        op = default; ld = 0;
        return false;
    }
}
