using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// A CPU storage's elements: element i is <c>Array[Start + i]</c> (see <see cref="CpuStorage.Base"/>). A plain struct, so
/// the backend's loop bodies can capture it; <c>fixed</c> pins it at element 0.
/// </summary>
internal readonly struct HostElements<T>(T[] array, int start) where T : unmanaged
{
    public readonly T[] Array = array;
    public readonly int Start = start;

    public ref T this[int i] => ref Array[Start + i];

    /// <summary>Elements [start, start + length). Empty for length 0 wherever start is: a view of an empty tensor may
    /// start past its storage's end (row 4 of a [5, 0, 32] tensor starts at element 128, as in PyTorch), and reads nothing.</summary>
    public Span<T> AsSpan(int start, int length) => length == 0 ? Span<T>.Empty : Array.AsSpan(Start + start, length);

    /// <summary>Element 0, unchecked (for vector loads through refs).</summary>
    public ref T Ref => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Array), Start);

    /// <summary>For <c>fixed</c>: element 0, or a null reference for a default handle (no array).</summary>
    public ref T GetPinnableReference() => ref Array is null ? ref Unsafe.NullRef<T>() : ref Ref;
}
