using System.Buffers.Binary;
using DeepSharp.IO;
using MessagePack;
using static DeepSharp.IO.Tests.Forged;

namespace DeepSharp.IO.Tests;

/// <summary>
/// Every structural rule of the checkpoint header is enforced, and its error points at the offending bytes: a reader
/// that skipped a rule would either load a file it should refuse or fail later, somewhere else (RELIABILITY 4–6).
/// </summary>
public class ReaderStructureTests
{
    private static readonly byte[] Zeros4 = new byte[4];
    private static readonly uint Crc4 = Crc32.Of(Zeros4);

    /// <summary>A stream of <paramref name="data"/> that claims to be <paramref name="claimed"/> bytes long.</summary>
    private sealed class Claiming(byte[] data, long claimed) : MemoryStream(data, writable: false)
    {
        public override long Length => claimed;
    }

    [Fact]
    public void APrefixCutShortIsReportedWhereItEnds()
    {
        var file = File(Concat(Opening(0), RootKey, EmptyList));
        Assert.Equal(0, ReadFails(file[..5]).Offset); // not even the magic: identified, at byte 0
        for (int n = CheckpointFormat.Magic.Length; n < CheckpointFormat.PrefixLength; n++)
            Assert.Equal(n, ReadFails(file[..n]).Offset);
    }

    [Fact]
    public void AHeaderLongerThanTheFileOrTheLimitIsRefusedAtItsLengthField()
    {
        var file = File(Concat(Opening(1), Entry("float32", [], Crc4), RootKey, TensorNode(0)), Zeros4);
        var longer = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(longer.AsSpan(10), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(10)) + 5);
        Assert.Equal(10, ReadFails(longer).Offset);

        // Over the limit, in a stream long enough to hold it: refused from the length field, before allocating the header.
        var prefix = file[..CheckpointFormat.PrefixLength];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix.AsSpan(10), CheckpointLimits.MaxHeaderBytes + 1u);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Read(new Claiming(prefix, 1L << 40)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "allocated the claimed header");
        Assert.Equal(10, e.Offset);
    }

    [Fact]
    public void BytesThatAreNotMessagePackAreAFormatErrorAtTheHeader()
    {
        PointsAt(ReadFails(File([0xC1])), 0, slack: 1); // 0xC1: a code MessagePack never uses
        PointsAt(ReadFails(File([0x93, 0xC0])), 0, slack: 1); // an array where the map of fields belongs
    }

    [Fact]
    public void TheHeaderHasExactlyItsThreeFieldsInOrder()
    {
        var four = Mp((ref MessagePackWriter w) => w.WriteMapHeader(4));
        var rest = Concat(Opening(0)[1..], RootKey, EmptyList, Mp((ref MessagePackWriter w) => { w.Write("x"); w.Write(1); }));
        PointsAt(ReadFails(File(Concat(four, rest))), 0, slack: 1);
        var misnamed = Concat(Mp((ref MessagePackWriter w) => { w.WriteMapHeader(3); w.Write("mets"); w.WriteMapHeader(0); }),
            Mp((ref MessagePackWriter w) => { w.Write("tensors"); w.WriteArrayHeader(0); }), RootKey, EmptyList);
        PointsAt(ReadFails(File(misnamed)), 1, slack: 5);
    }

    [Fact]
    public void ATableEntryIsExactlyDtypeShapeAndCrc()
    {
        var opening = Opening(1);
        var entry = Mp((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4); w.Write("float32"); w.WriteArrayHeader(0); w.Write(Crc4); w.Write("root");
        });
        PointsAt(ReadFails(File(Concat(opening, entry, RootKey, TensorNode(0)), Zeros4)), opening.Length, slack: 1);
    }

    [Fact]
    public void ANodeIsExactlyKindAndValue()
    {
        var head = Concat(Opening(1), Entry("float32", [], Crc4), RootKey);
        var node = Mp((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.Write(0); w.Write(0); w.Write(0); });
        PointsAt(ReadFails(File(Concat(head, node), Zeros4)), head.Length, slack: 1);
    }

    [Fact]
    public void NothingMayFollowTheRootInTheHeader()
    {
        var header = Concat(Opening(0), RootKey, EmptyList);
        PointsAt(ReadFails(File([.. header, 0xC0])), header.Length, slack: 0);
    }

    [Fact]
    public void EveryListedTensorIsUsedExactlyOnce()
    {
        var two = Concat(Opening(2), Entry("float32", [], Crc4), Entry("float32", [], Crc4), RootKey);
        // Tensor 1 is listed but no node refers to it: refused, not silently dropped.
        var unused = Concat(two, TensorNode(0));
        PointsAt(ReadFails(File(unused, new byte[8])), unused.Length, slack: 0);
        // Tensor 0 twice (and 1 never): refused at the second reference, not loaded as two copies.
        var list = Concat(two, ListOpening(2), TensorNode(0));
        PointsAt(ReadFails(File(Concat(list, TensorNode(0)), new byte[8])), list.Length, slack: 3);
    }

    [Fact]
    public void DimsAreCheckedBeforeSizesAndSizesAgainstTheFile()
    {
        var opening = Opening(1);
        var negative = Entry("float32", [-1]);
        var e = ReadFails(File(Concat(opening, negative, RootKey, TensorNode(0)), Zeros4));
        Assert.InRange(e.Offset, At(opening.Length), At(opening.Length + negative.Length));

        // The largest dim a tensor can have is a valid claim: refused only because the file is too short for it.
        var largest = File(Concat(opening, Entry("float32", [int.MaxValue]), RootKey, TensorNode(0)));
        Assert.Equal(largest.Length, ReadFails(largest).Offset);
        var over = Entry("float32", [int.MaxValue + 1L]);
        var overFails = ReadFails(File(Concat(opening, over, RootKey, TensorNode(0))));
        Assert.InRange(overFails.Offset, At(opening.Length), At(opening.Length + over.Length));

        // Four floats claimed, three there: reported at the end of the file, where the payload was cut.
        var shortPayload = File(Concat(opening, Entry("float32", [4], Crc32.Of(new byte[16])), RootKey, TensorNode(0)), new byte[12]);
        Assert.Equal(shortPayload.Length, ReadFails(shortPayload).Offset);
    }

    [Fact]
    public void ACountIsRefusedWhenTheBytesLeftCannotHoldItsItems()
    {
        // Ten list items claimed, four empty lists (12 bytes) there: MessagePack's own check (a byte per item) passes,
        // a node takes at least 3 bytes, so the claim is refused at the list, before an array is sized by it.
        var head = Concat(Opening(0), RootKey);
        var list = ListOpening(10);
        PointsAt(ReadFails(File(Concat(head, list, EmptyList, EmptyList, EmptyList, EmptyList))), head.Length, slack: list.Length);

        // Nested: the outer list still owes its second item at least 3 bytes, so the inner list's 3 items (9 bytes) do
        // not fit in the 11 bytes left (the second item is cut short, as if the count were forged to fit the bytes).
        var outer = ListOpening(2);
        var inner = ListOpening(3);
        var nested = Concat(head, outer, inner, EmptyList, EmptyList, EmptyList, new byte[] { 0x92, 0x01 });
        PointsAt(ReadFails(File(nested)), head.Length + outer.Length, slack: inner.Length);

        // The same for a dictionary: four entries claimed, 12 bytes left, an entry takes at least 5 ([key, node]).
        var dict = Mp((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(2); w.WriteArrayHeader(4); });
        var entry = Mp((ref MessagePack.MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(""); });
        var dictFile = File(Concat(head, dict, entry, EmptyList, entry, EmptyList, new byte[] { 0x92 }));
        PointsAt(ReadFails(dictFile), head.Length, slack: dict.Length);

        // Five table entries claimed where one (and the root) fits: a table entry takes at least 9 bytes.
        var table = Opening(5);
        PointsAt(ReadFails(File(Concat(table, Entry("float32", [], Crc4), RootKey, TensorNode(0)), Zeros4)), table.Length - 1, slack: 1);
    }

    [Fact]
    public void MetadataKeysAreUniqueAndTheTotalIsBounded()
    {
        var twice = Mp((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(3);
            w.Write("meta"); w.WriteMapHeader(2); w.Write("k"); w.Write("v"); w.Write("k"); w.Write("w");
            w.Write("tensors"); w.WriteArrayHeader(0);
        });
        var e = ReadFails(File(Concat(twice, RootKey, EmptyList)));
        Assert.InRange(e.Offset, At(0), At(twice.Length));

        // One entry: a value at the limit on its own, over it with its key.
        var big = Mp((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(3);
            w.Write("meta"); w.WriteMapHeader(1); w.Write("k"); w.Write(new string('v', CheckpointLimits.MaxMetadataBytes));
            w.Write("tensors"); w.WriteArrayHeader(0);
        });
        e = ReadFails(File(Concat(big, RootKey, EmptyList)));
        Assert.InRange(e.Offset, At(0), At(big.Length));
    }

    [Fact]
    public void AnUnknownDtypeIsShownSafelyAndShort()
    {
        // A name with an escape sequence, DEL and a C1 control, then more than the 40 bytes a message shows.
        byte[] name = [.. "my dtype "u8, 0x1B, .. "[31m"u8, 0x7F, 0x9B, .. Enumerable.Repeat((byte)'x', 40), .. "TAIL"u8];
        var opening = Opening(1);
        var entry = Mp((ref MessagePackWriter w) => { w.WriteArrayHeader(3); w.WriteString(name); w.WriteArrayHeader(0); w.Write(0u); });
        var e = ReadFails(File(Concat(opening, entry, RootKey, TensorNode(0))));
        Assert.Contains("my dtype ", e.Message);                     // printable ASCII as it is
        Assert.DoesNotContain(e.Message, char.IsControl);             // no terminal escapes, DEL or C1 controls from the file
        Assert.DoesNotContain("TAIL", e.Message);                     // at most 40 bytes of it
        PointsAt(e, opening.Length, slack: entry.Length);
    }

    [Fact]
    public void ACorruptedTensorIsNamedByItsPath()
    {
        var a = Tensor.Arange(3);
        var b = Tensor.Arange(5);
        var tree = new DictValue(new() { ["enc"] = new DictValue(new() { ["w"] = new ListValue([a, b]) }) });
        var nested = Bytes(tree);
        nested[^1] ^= 1; // the last tensor's last byte
        Assert.Contains("'enc.w[1]'", ReadFails(nested).Message);
        var list = Bytes(new ListValue([a, new DictValue(new() { ["x"] = b })]));
        list[^1] ^= 1;
        Assert.Contains("'root[1].x'", ReadFails(list).Message);
    }

    private static byte[] Bytes(CheckpointValue v)
    {
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, v);
        return ms.ToArray();
    }
}
