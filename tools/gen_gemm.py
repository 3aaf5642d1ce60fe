#!/usr/bin/env python3
"""Writes the GEMM kernels with their register tile and staging unrolled by hand (ILGPU does not unroll loops, and
registers cannot be indexed): src/Runtime/Backends/Ilgpu/Kernels.Gemm.g.cs (the general kernel) and
Kernels.GemmVector.g.cs (16-byte staging, 16×8 outputs per thread). Run from the repository root:
python3 tools/gen_gemm.py. The options of general() (a specialised group edge, an unrolled k loop, eight staged elements
per thread) and vector()'s k-tile and thread count produced the variants measured or inspected against these
(benchmarks/NOTES.md)."""


def comps(v):
    return [f"{v}.X", f"{v}.Y", f"{v}.Z", f"{v}.W"]


def fma_step(w, ind, a_loads, b_loads):
    """One k step: 16-byte fragments from shared memory (a0…, b0…), then the multiply-adds of the thread's tile."""
    w(f"{ind}{{ " + " ".join(f"var a{i} = {e};" for i, e in enumerate(a_loads)))
    w(f"{ind}  " + " ".join(f"var b{j} = {e};" for j, e in enumerate(b_loads)))
    a = [x for i in range(len(a_loads)) for x in comps(f"a{i}")]
    b = [x for j in range(len(b_loads)) for x in comps(f"b{j}")]
    for r, ar in enumerate(a):
        row = [f"c{r}_{c} += {ar} * {bc};" for c, bc in enumerate(b)]
        for i in range(0, len(row), 4):  # four multiply-adds a line: a row of the tile reads as one or two even lines
            w(f"{ind}  " + " ".join(row[i:i + 4]))
    w(f"{ind}}}")


def accumulators(w, rows=8, cols=8):
    for r in range(rows):
        w("        float " + ", ".join(f"c{r}_{c} = 0" for c in range(cols)) + ";")


def epilogue(w, rows, cols, row_expr=None, nrows=8):
    """Stores the tile: row r at row_expr(r) (default rowLo..+3, rowHi..+3), columns colLo..+3 and colHi..+3 (given as C#
    declarations)."""
    w(f"        {rows}, {cols};")
    w("        int cBase = batch * g.M * g.N;")
    for r in range(nrows):
        row = row_expr(r) if row_expr else (f"rowLo + {r}" if r < 4 else f"rowHi + {r - 4}")
        w(f"        StoreRow8(c, bias, g, cBase, {row}, colLo, colHi, " + ", ".join(f"c{r}_{c}" for c in range(8)) + ");")


def tile_loop(w, P, loads, compute, stores):
    """The k loop, branchless: advance each staged element's index by a tile, read the next k-tile into registers (zeros
    past K), multiply the current one, store the next into the other buffer (after the last tile, into the buffer no one
    reads again), one barrier per tile. cur: Float4s from a pair's first buffer to the one being multiplied."""
    w("        int cur = 0;")
    w("        for (int k0 = 0; k0 < g.K; k0 += BK)")
    w("        {")
    w("            " + " ".join(f"ia{p} += da; ib{p} += db;" for p in range(P)))
    loads("            ", "k0 + BK")
    compute("            ")
    w("            cur = tile / 4 - cur;")
    stores("            ", "4 * cur + ")
    w("            Group.Barrier();")
    w("        }")


def staging(w, P, reg, zero, a, b, store):
    """Per staged element p (am/ak, bn/bk and the global indexes ia/ib already declared): its k limit (a tile from k0
    below it lies inside the operand; 0 past the operand's rows/columns), its shared-memory offset in the first buffer of
    each pair, and the first tile read and stored. Returns the loop's loads(ind, k) and stores(ind, at)."""
    for p in range(P):
        w(f"        int ka{p} = row0 + am{p} < g.M ? g.K - ak{p} : 0, kb{p} = col0 + bn{p} < g.N ? g.K - bk{p} : 0;")
        w(f"        int sa{p} = ak{p} * S + am{p}, sb{p} = 2 * tile + bk{p} * S + bn{p};")

    def loads(ind, k):
        for p in range(P):
            w(f"{ind}ra{p} = {k} < ka{p} ? {a}[ia{p}] : {zero}; rb{p} = {k} < kb{p} ? {b}[ib{p}] : {zero};")

    def stores(ind, at):
        for p in range(P):
            w(f"{ind}{store('a', f'{at}sa{p}', f'ra{p}')} {store('b', f'{at}sb{p}', f'rb{p}')}")

    w("        " + " ".join(f"{reg} ra{p}, rb{p};" for p in range(P)))
    loads("        ", "0")
    stores("        ", "")
    w("        Group.Barrier();")
    return loads, stores


def general(name, staged, doc, specialized=False, unroll=1):
    """Any T×T group (T = 16 on GPUs, 8 for small grids, 4 on the simulator); scalar staging through the strides."""
    L = staged  # elements of A and of B staged per thread per k-tile
    out = []
    w = out.append
    w(f"    /// <summary>{doc}</summary>")
    extra = ", SpecializedValue<int> edge" if specialized else ""
    w(f"    public static void {name}<TTiles>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, "
      f"GemmArgs g{extra})")
    w("        where TTiles : struct, IGemmTiles")
    w("    {")
    T = "edge" if specialized else "Group.DimX"
    w(f"        int T = {T}, BM = 8 * T, BK = {L} * T / 8, S = BM + 4; // S: padded shared row (no bank conflicts, 16-byte aligned)")
    w("        int tile = BK * S;                                        // floats per staged tile")
    w("        var shared = default(TTiles).Allocate();                  // [A buf 0][A buf 1][B buf 0][B buf 1]")
    w("        var shared4 = shared.Cast<Float4>().AsAligned(16);")
    w("        GemmBlock(g, out int bx, out int by, out int batch);")
    w("        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * T + tx, threads = T * T;")
    w("        int row0 = by * BM, col0 = bx * BM;")
    w("        GemmBase(g, batch, out int baseA, out int baseB);")
    w("        bool aRowMajor = g.ColA == 1, bRowMajor = g.ColB == 1;")
    w("        int da = BK * g.ColA, db = BK * g.RowB; // elements from one k-tile to the next")
    for p in range(L):
        w(f"        StageIndex(tid + {p} * threads, aRowMajor, BK, BM, out int am{p}, out int ak{p}); "
          f"StageIndex(tid + {p} * threads, !bRowMajor, BK, BM, out int bn{p}, out int bk{p});")
        w(f"        int ia{p} = baseA + (row0 + am{p}) * g.RowA + ak{p} * g.ColA, "
          f"ib{p} = baseB + bk{p} * g.RowB + (col0 + bn{p}) * g.ColB;")
    loads, stores = staging(w, L, "float", "0f", "a", "b", lambda side, at, v: f"shared[{at}] = {v};")
    accumulators(w)
    w("        int aLo = ty, aHi = T + ty, bLo = tx, bHi = T + tx, S4 = S / 4; // Float4 units within a shared row")

    def compute(ind):
        w(f"{ind}int pa = cur, pb = 2 * tile / 4 + cur;")
        w(f"{ind}for (int k = 0; k < BK; k += {unroll})")
        w(f"{ind}{{")
        for u in range(unroll):
            off = "" if u == 0 else f" + {u} * S4"
            fma_step(w, ind + "    ", [f"shared4[pa{off} + aLo]", f"shared4[pa{off} + aHi]"],
                     [f"shared4[pb{off} + bLo]", f"shared4[pb{off} + bHi]"])
        w(f"{ind}    pa += {unroll} * S4; pb += {unroll} * S4;")
        w(f"{ind}}}")

    tile_loop(w, L, loads, compute, stores)
    epilogue(w, "int rowLo = row0 + 4 * ty, rowHi = row0 + 4 * T + 4 * ty", "colLo = col0 + 4 * tx, colHi = col0 + 4 * T + 4 * tx")
    w("    }")
    return "\n".join(out)


def vector(name, bk, doc, threads=128):
    """128x128 blocks, k-tile bk, operands staged in 16-byte runs (TA, TB: KRun or MnRun) and the k-tile's steps
    unrolled, so shared-memory addresses are register + constant. The loop carries each run's index (one add per tile)
    and has no branch: past K a run reads as zeros, and the last tile's store goes to the buffer no one reads again.
    threads = 256: 8×8 outputs per thread, warps of 32×64; threads = 128: 16×8 per thread, warps of 64×64. Groups are
    16 × threads/16 (constant)."""
    P = bk * 128 // 4 // threads  # runs per thread per operand
    R = 128 * 128 // threads // 8 // 4  # 16-byte row chunks per thread: 2 (8 rows) or 4 (16 rows)
    out = []
    w = out.append
    w(f"    /// <summary>{doc}</summary>")
    w(f"    public static void {name}<TA, TB>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, "
      "GemmArgs g)")
    w("        where TA : struct, IGemmStage where TB : struct, IGemmStage")
    w("    {")
    w(f"        const int BM = 128, BK = {bk}, S = BM + 4, S4 = S / 4, tile = BK * S; // S: padded shared row")
    w("        var shared = default(StaticTiles).Allocate();             // [A buf 0][A buf 1][B buf 0][B buf 1]")
    w("        var shared4 = shared.Cast<Float4>().AsAligned(16);")
    w("        var a4 = a.Cast<Float4>().AsAligned(16); var b4 = b.Cast<Float4>().AsAligned(16);")
    w("        GemmBlock(g, out int bx, out int by, out int batch);")
    w("        int tid = Group.IdxY * 16 + Group.IdxX, lane = tid % 32, warp = tid / 32;")
    w(f"        // Warp tiles of {16 * R}×64 ({8 // R} × 2 per block), lanes 4 × 8 within (as in CUTLASS's SIMT GEMMs): a warp's fragment")
    w("        // loads read 64 distinct bytes of A and 128 of B per 16-byte load. A thread's rows: 4·ar…+3, then every 16 further;")
    w("        // columns 4·bc…+3 and +32.")
    w(f"        int ar = {4 * R} * (warp / 2) + lane / 8, bc = 16 * (warp % 2) + lane % 8; // in Float4 units")
    w("        int row0 = by * BM, col0 = bx * BM;")
    w("        GemmBase(g, batch, out int baseA, out int baseB);")
    w("        TA sa = default; TB sb = default;")
    w("        int da = sa.Step(BK, g.ColA), db = sb.Step(BK, g.RowB); // Float4s from a run to the same run a tile later")
    for p in range(P):
        w(f"        sa.Place(tid + {p * threads}, BK, BM, out int am{p}, out int ak{p}); "
          f"sb.Place(tid + {p * threads}, BK, BM, out int bn{p}, out int bk{p});")
        w(f"        int ia{p} = sa.Index(baseA, g.RowA, g.ColA, row0 + am{p}, ak{p}), "
          f"ib{p} = sb.Index(baseB, g.ColB, g.RowB, col0 + bn{p}, bk{p});")
    loads, stores = staging(w, P, "Float4", "default", "a4", "b4", lambda side, at, v: f"s{side}.Store(shared, {at}, S, {v});")
    accumulators(w, 4 * R)

    def compute(ind):
        w(f"{ind}var fa = shared4.SubView(cur + ar); var fb = shared4.SubView(2 * tile / 4 + cur + bc); // constant offsets below")
        for u in range(bk):
            fma_step(w, ind, [f"fa[{u} * S4 + {4 * i}]" for i in range(R)], [f"fb[{u} * S4]", f"fb[{u} * S4 + 8]"])

    tile_loop(w, P, loads, compute, stores)
    epilogue(w, "int rowLo = row0 + 4 * ar", "colLo = col0 + 4 * bc, colHi = colLo + 32",
             lambda r: f"rowLo + {16 * (r // 4) + r % 4}", 4 * R)
    w("    }")
    return "\n".join(out)


MAX_LINE = 140  # the repository's line length: generated code is read too


def wrap(line):
    """Splits a line longer than MAX_LINE: a doc comment between words, code between statements (after '; '), each
    continuation at the line's own indentation."""
    if len(line) <= MAX_LINE:
        return [line]
    indent = line[:len(line) - len(line.lstrip())]
    doc = line.lstrip().startswith("///")
    prefix, rest, sep = (indent + "/// ", line.lstrip()[4:], " ") if doc else (indent, line.lstrip(), "; ")
    parts = rest.split(sep)
    lines, cur = [], ""
    for i, part in enumerate(parts):
        piece = part + (sep.rstrip() if i < len(parts) - 1 and not doc else "")
        candidate = piece if not cur else cur + " " + piece
        if cur and len(prefix) + len(candidate) > MAX_LINE:
            lines.append(prefix + cur)
            cur = piece
        else:
            cur = candidate
    lines.append(prefix + cur)
    return lines


def write(path, body):
    text = ("// <auto-generated> by tools/gen_gemm.py — edit the generator, not this file. </auto-generated>\n"
            "using ILGPU;\nusing ILGPU.Runtime;\n\nnamespace DeepSharp.Backends.Ilgpu;\n\n"
            "internal static partial class Kernels\n{\n" + body + "\n}\n")
    open(path, "w").write("\n".join(w for line in text.split("\n") for w in wrap(line)))


doc = ("Shared-memory GEMM, C[batch] = A[batch]·B[batch] (+ bias, see <see cref=\"GemmArgs.Bias\"/>), 8×8 outputs per "
       "thread; a T×T group computes an 8T×8T block (see <see cref=\"Kernels\"/>' GEMM notes). ")
# The variants that were measured against these, and why these won: see benchmarks/NOTES.md, "Moved from code comments".
write("src/Runtime/Backends/Ilgpu/Kernels.Gemm.g.cs",
      general("Gemm", 4, doc + "Four elements of A and of B staged per thread per k-tile (k-tile T/2: 128×128×8 on CUDA); "
              "the tiles in <typeparamref name=\"TTiles\"/>."))
write("src/Runtime/Backends/Ilgpu/Kernels.GemmVector.g.cs",
      vector("GemmVector", 8, "Shared-memory GEMM, C[batch] = A[batch]·B[batch] (+ bias, see <see cref=\"GemmArgs.Bias\"/>) "
             "for operands that can be staged in 16-byte runs: 16×8 groups (128 threads) compute 128×128 blocks, 16×8 outputs "
             "per thread, 128×128×8 tiles; two runs staged per operand and thread (<see cref=\"IGemmStage\"/>), the k-tile "
             "unrolled."))
