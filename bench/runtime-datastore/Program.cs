// Datastore benchmark: write throughput, list latency and idle flash writes, each next to a standard baseline (and the crash test's stress writer).
using System.Diagnostics;
using System.Globalization;
using Appliance.Bench.RuntimeDatastore;

var inv = CultureInfo.InvariantCulture;
if (args.Length >= 5 && args[0] == "idle")
{
    // Child mode: one simulated idle period in one process, so /proc/self/io and strace see only it.
    // `idle <sqlite|postgres> <volatile|naive> <minutes> <dir|connection string> [speedup]`; speedup 1 runs in real time.
    var r = await IdleBench.RunAsync(args[1], args[2] == "volatile", double.Parse(args[3], inv), args[4], args.Length > 5 ? double.Parse(args[5], inv) : 1000);
    Console.WriteLine(r);
    return 0;
}

if (args.Length >= 1 && args[0] == "stress")
{
    // Child mode of the SIGKILL test: write until killed, printing each acknowledged revision.
    if (StressWriter.Parse(args[1..]) is not { } stress) return 2;
    await StressWriter.RunAsync(stress.DataDir, stress.Writers, Console.Out, CancellationToken.None);
    return 0;
}

var root = Directory.CreateTempSubdirectory("bench-datastore-").FullName;
try
{
    Console.WriteLine($"datastore benchmark ({Environment.ProcessorCount} cores, data in {root})");
    // `run.sh [writes|list|idle|postgres]...` runs only the named parts.
    bool Part(string name) => args.Length == 0 || args.Contains(name);
    if (Part("writes")) await WriteBench.RunAsync(root, writers: 50, seconds: 5);
    if (Part("list")) await ListBench.RunAsync(root, keys: 5000, iterations: 200);
    if (Part("idle")) await IdleBench.RunChildrenAsync(root, simulatedMinutes: 60);
    if (Part("postgres")) await PostgresBench.RunAsync(root, writers: 50, seconds: 5);
}
finally
{
    Directory.Delete(root, recursive: true);
}
return 0;

namespace Appliance.Bench.RuntimeDatastore
{
    /// <summary>Small helpers shared by the benchmark parts.</summary>
    internal static class Util
    {
        public static (long Wchar, long WriteBytes) ProcIo()
        {
            long w = 0, b = 0;
            foreach (var line in File.ReadAllLines("/proc/self/io"))
            {
                if (line.StartsWith("wchar:", StringComparison.Ordinal)) w = long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture);
                if (line.StartsWith("write_bytes:", StringComparison.Ordinal)) b = long.Parse(line[12..].Trim(), CultureInfo.InvariantCulture);
            }
            return (w, b);
        }

        public static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

        public static async Task<(int Code, string Out, string Err)> RunAsync(string file, IEnumerable<string> args, string? stdin = null)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (stdin is not null)
            {
                await p.StandardInput.WriteAsync(stdin);
                p.StandardInput.Close();
            }
            await p.WaitForExitAsync();
            return (p.ExitCode, await o, await e);
        }

        public static string Which(string name) =>
            (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists) ?? "";
    }
}
