using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>The 16-bit product on tensor cores (<see cref="Kernels.GemmMma{TMma}"/>): CUDA only, opt-in until it is
/// measured on a GPU (<see cref="TensorCoreGemm"/>).</summary>
internal sealed partial class IlgpuBackend
{
    /// <summary>
    /// Whether 16-bit products run on tensor cores: on CUDA devices when the environment variable
    /// <c>DEEPSHARP_TENSOR_CORES</c> is 1. Off by default: the kernel compiles and assembles for sm_90 in CI, but no GPU has
    /// run it yet; without it a 16-bit product is widened and runs in float32 (the same values to float32 rounding).
    /// </summary>
    public bool TensorCoreGemm { get; set; } =
        Environment.GetEnvironmentVariable("DEEPSHARP_TENSOR_CORES") == "1";

    /// <summary>Whether <see cref="MatMulHalf"/> can run here.</summary>
    public bool HasTensorCoreGemm => TensorCoreGemm && Ampere;

    /// <summary>A CUDA device of compute capability 8.0 or later: the mma shapes used (m16n8k16 bf16/f16, m16n8k8 tf32) need
    /// sm_80; on older GPUs the switches are ignored, as PyTorch ignores allow_tf32.</summary>
    private bool Ampere => Accelerator is ILGPU.Runtime.Cuda.CudaAccelerator { Architecture: { Major: >= 8 } };

    /// <summary>c [m, n] (float32, dense from 0) = a [m, k] · b [k, n], both 16-bit of one dtype, dense row-major from their
    /// offsets; accumulated in float32 on tensor cores.</summary>
    public void MatMulHalf(Storage a, int offA, Storage b, int offB, Storage c, int m, int n, int k)
    {
        using var scope = Enter(nameof(MatMulHalf));
        try
        {
            if ((long)m * n == 0) return;
            var va = V<ushort>(a).SubView(offA, (long)m * k);
            var vb = V<ushort>(b).SubView(offB, (long)k * n);
            int groups = (m + Kernels.MmaTile - 1) / Kernels.MmaTile * ((n + Kernels.MmaTile - 1) / Kernels.MmaTile);
            var config = new KernelConfig(groups, Kernels.MmaThreads);
            _launches++;
            if (a.DType == DType.BFloat16) GemmMmaK<MmaBFloat16>()(config, va, vb, V<float>(c), m, n, k);
            else GemmMmaK<MmaHalf>()(config, va, vb, V<float>(c), m, n, k);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(MatMulHalf)); }
    }

    /// <summary>Whether <see cref="MatMulTf32"/> may run here (<see cref="Device.AllowTf32"/> on a CUDA device).</summary>
    public bool UsesTf32 => Device.AllowTf32 && Ampere;

    /// <summary>c [m, n] (float32, dense from 0) = a [m, k] · b [k, n], float32 dense row-major from their offsets, on TF32
    /// tensor cores (<see cref="Kernels.GemmMmaTf32"/>).</summary>
    public void MatMulTf32(Storage a, int offA, Storage b, int offB, Storage c, int m, int n, int k)
    {
        using var scope = Enter(nameof(MatMulTf32));
        try
        {
            if ((long)m * n == 0) return;
            int groups = (m + Kernels.MmaTile - 1) / Kernels.MmaTile * ((n + Kernels.MmaTile - 1) / Kernels.MmaTile);
            _launches++;
            GemmTf32K()(new KernelConfig(groups, Kernels.MmaThreads), V<float>(a).SubView(offA, (long)m * k),
                V<float>(b).SubView(offB, (long)k * n), V<float>(c), m, n, k);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(MatMulTf32)); }
    }

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> GemmTf32K() =>
        Compiled("gemmMmaTf32", typeof(float), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(
                Kernels.GemmMmaTf32, new KernelSpecialization(Kernels.MmaThreads, 2)));

    private Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, int, int> GemmMmaK<TMma>()
        where TMma : struct, IMmaKind =>
        Compiled("gemmMma", typeof(TMma), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, int, int, int>(
                Kernels.GemmMma<TMma>, new KernelSpecialization(Kernels.MmaThreads, 2)));
}
