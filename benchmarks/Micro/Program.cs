// Micro-benchmarks of the CPU kernels (BenchmarkDotNet): `dotnet run -c Release --project benchmarks/Micro -- --filter '*'`;
// `--job short` for a quick table, `--job dry` for CI's smoke run (each benchmark once). The figures and the exact
// commands: benchmarks/NOTES.md. The same-process peers (libtorch, the GPU) are in benchmarks/Runtime.Bench.
using BenchmarkDotNet.Running;

var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
// BenchmarkDotNet shows a benchmark that failed (to build, or by throwing) in its output but exits with 0; CI needs a failure.
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
