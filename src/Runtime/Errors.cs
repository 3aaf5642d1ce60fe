namespace DeepSharp;

/// <summary>An operation received tensors on different devices. Nothing was launched and nothing was copied.</summary>
public sealed class DeviceMismatchException(string message) : InvalidOperationException(message);

/// <summary>Argument checks shared by the operations; every message names the op and what it found.</summary>
internal static class Check
{
    public static void SameDevice(string op, Tensor a, string nameA, Tensor b, string nameB)
    {
        if (a.Device != b.Device)
            throw new DeviceMismatchException($"{op}: argument '{nameB}' is on {b.Device} but argument '{nameA}' is on {a.Device}. " +
                "Operations never copy between devices; move one with .To(device) first.");
    }

    public static void Float32(string op, Tensor t, string name)
    {
        if (t.DType != DType.Float32)
            throw new NotSupportedException($"{op}: argument '{name}' has dtype {t.DType.Name()}, but {op} computes on float32. " +
                "Convert it with .To(DType.Float32).");
    }

    /// <summary>numpy broadcasting: align from the right; each pair of dims must be equal or contain a 1.</summary>
    public static int[] Broadcast(string op, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Layout.Format(a)} and {Layout.Format(b)} cannot be broadcast together: " +
                    $"dim {i - rank} is {da} in the first and {db} in the second (each pair must be equal or contain a 1).");
            shape[i] = da == 1 ? db : da;
        }
        return shape;
    }
}
