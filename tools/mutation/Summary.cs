// Summarizes a Stryker.NET JSON report (mutation-testing-report-schema): the score of the project and of each file,
// weakest first, and with --survivors the mutants that no test noticed (file:line, mutator, replacement).
// Run by tools/mutation.sh; by hand: dotnet run tools/mutation/Summary.cs -- StrykerOutput/IO/reports/mutation-report.json
// [--survivors [file-name-part]]. Stryker's own table counts ignored mutants as survivors, hence this one.
using System.Text.Json;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Summary.cs REPORT.json [--survivors [file-name-part]]");
    return 2;
}
using var doc = JsonDocument.Parse(File.ReadAllBytes(args[0]));
bool survivors = args.Length > 1 && args[1] == "--survivors";
string? only = args.Length > 2 ? args[2] : null;

var rows = new List<Row>();
foreach (var file in doc.RootElement.GetProperty("files").EnumerateObject())
{
    var c = new Dictionary<string, int>();
    foreach (var m in file.Value.GetProperty("mutants").EnumerateArray())
    {
        var status = m.GetProperty("status").GetString()!;
        c[status] = c.GetValueOrDefault(status) + 1;
    }
    rows.Add(new Row(Path.GetFileName(file.Name), c.GetValueOrDefault("Killed"), c.GetValueOrDefault("Timeout"),
        c.GetValueOrDefault("Survived"), c.GetValueOrDefault("NoCoverage"), c.GetValueOrDefault("Ignored"),
        c.GetValueOrDefault("CompileError")));
}

Console.WriteLine($"{"file",-30} {"score",7} {"killed",7} {"timeout",8} {"survived",9} {"no cov",7} {"ignored",8} {"compile",8}");
foreach (var r in rows.Where(r => r.Valid > 0).OrderBy(r => r.Score).Concat(rows.Where(r => r.Valid == 0)))
    Print(r);
var total = new Row("total", rows.Sum(r => r.Killed), rows.Sum(r => r.Timeout), rows.Sum(r => r.Survived), rows.Sum(r => r.NoCoverage),
    rows.Sum(r => r.Ignored), rows.Sum(r => r.CompileError));
Print(total);
Console.WriteLine($"mutation score: {total.Score:F1} %");

if (survivors)
{
    foreach (var file in doc.RootElement.GetProperty("files").EnumerateObject())
    {
        var name = Path.GetFileName(file.Name);
        if (only != null && !name.Contains(only, StringComparison.OrdinalIgnoreCase)) continue;
        var lines = file.Value.GetProperty("source").GetString()!.Split('\n');
        foreach (var m in file.Value.GetProperty("mutants").EnumerateArray()
            .Where(m => m.GetProperty("status").GetString() is "Survived" or "NoCoverage")
            .OrderBy(m => m.GetProperty("location").GetProperty("start").GetProperty("line").GetInt32()))
        {
            int line = m.GetProperty("location").GetProperty("start").GetProperty("line").GetInt32();
            var replacement = m.TryGetProperty("replacement", out var rep) ? OneLine(rep.GetString()) : "";
            var (status, mutator) = (m.GetProperty("status").GetString(), m.GetProperty("mutatorName").GetString());
            Console.WriteLine($"{name}:{line} {status} {mutator} → {replacement}");
            Console.WriteLine($"    {OneLine(lines[line - 1])}");
        }
    }
}
return 0;

static void Print(Row r) => Console.WriteLine(
    $"{r.File,-30} {(r.Valid > 0 ? $"{r.Score:F1}" : "n/a"),7} {r.Killed,7} {r.Timeout,8} {r.Survived,9} {r.NoCoverage,7} " +
    $"{r.Ignored,8} {r.CompileError,8}");

static string OneLine(string? s)
{
    var t = string.Join(' ', (s ?? "").Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(x => x.Trim()));
    return t.Length <= 120 ? t : t[..117] + "...";
}

/// <summary>One file's mutants by outcome; the score counts timeouts as detected, as Stryker does.</summary>
internal sealed record Row(string File, int Killed, int Timeout, int Survived, int NoCoverage, int Ignored, int CompileError)
{
    public int Valid => Killed + Timeout + Survived + NoCoverage;
    public double Score => Valid == 0 ? 0 : 100.0 * (Killed + Timeout) / Valid;
}
