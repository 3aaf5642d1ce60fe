/// <summary>Each example checks its own results: failed checks are printed and make the exit code non-zero.</summary>
public static class Expect
{
    private static int _failures;

    /// <summary>Records one check.</summary>
    public static void That(bool ok, string what)
    {
        if (ok) return;
        _failures++;
        Console.Error.WriteLine($"CHECK FAILED: {what}");
    }

    /// <summary>The process exit code: 0 when every check passed.</summary>
    public static int ExitCode()
    {
        Console.WriteLine(_failures == 0 ? "All checks passed." : $"{_failures} check(s) failed.");
        return _failures == 0 ? 0 : 1;
    }
}
