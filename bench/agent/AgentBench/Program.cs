// Benchmark: first import of a ~200 MB archive, ours against `ctr images import`, the second start's skip, and our peak RSS.
using System.Diagnostics;
using Appliance.Bench.Agent;
using Appliance.ClusterRuntime.Agent.Images;
using Microsoft.Extensions.Logging.Abstractions;

if (args.Length > 0 && args[0] == "import")
    return await ImportChild(args[1], args[2], args[3]);
// sandboxes PAUSE.tar BUSYBOX.tar [--pods 30] [--parallel 30] [--ip-masq true|false]: the containerd + runc + CNI floor.
if (args.Length > 0 && args[0] == "sandboxes")
    return await Sandboxes.RunAsync(args[1], args[2], Option("--pods", 30), Option("--parallel", Option("--pods", 30)),
        Array.IndexOf(args, "--ip-masq") is var m && (m < 0 || args[m + 1] != "false"));

int rounds = Option("--rounds", 5), layers = Option("--layers", 4), layerMiB = Option("--layer-mib", 50);
var work = Directory.CreateTempSubdirectory("agent-bench-").FullName;
try
{
    var images = Path.Combine(work, "images");
    Directory.CreateDirectory(images);
    var archive = Path.Combine(images, "big.tar");
    var gen = Stopwatch.StartNew();
    BigArchive.Write(archive, layers, layerMiB);
    Console.WriteLine($"archive: {new FileInfo(archive).Length / 1048576.0:F1} MiB ({layers} layers of {layerMiB} MiB seeded random bytes), sha256 {Convert.ToHexStringLower(Appliance.Common.FileSha256.Hash(archive))[..16]}…, written in {gen.ElapsedMilliseconds} ms");

    var ours = new List<double>(); var ctr = new List<double>(); var ctrUnpack = new List<double>(); var skip = new List<double>(); var hwm = new List<double>();
    for (int r = 1; r <= rounds; r++)
    {
        // Paired: the same archive, each tool into a fresh containerd, the order alternating between rounds.
        double o = 0, c = 0, s = 0, h = 0;
        void Ours()
        {
            using var cd = Containerd.Start();
            var data = Path.Combine(cd.Dir, "agent");
            Directory.CreateDirectory(data);
            var first = Child(cd.Socket, images, data);
            if (first.Status != "Imported") throw new InvalidOperationException("first import: " + first.Status);
            var second = Child(cd.Socket, images, data);
            if (second.Status != "Skipped") throw new InvalidOperationException("second start: " + second.Status);
            (o, h, s) = (first.Ms, first.HwmMiB, second.Ms);
        }
        void Ctr()
        {
            using var cd = Containerd.Start();
            var t = Stopwatch.StartNew();
            var res = Containerd.Run("ctr", ["-a", cd.Socket, "-n", "k8s.io", "images", "import", "--no-unpack", archive]);
            if (res.Code != 0) throw new InvalidOperationException("ctr import: " + res.Err);
            c = t.Elapsed.TotalMilliseconds;
        }
        if (r % 2 == 1) { Ours(); Ctr(); } else { Ctr(); Ours(); }
        double u;
        using (var cd = Containerd.Start())
        {
            var t = Stopwatch.StartNew();
            var res = Containerd.Run("ctr", ["-a", cd.Socket, "-n", "k8s.io", "images", "import", archive]);
            if (res.Code != 0) throw new InvalidOperationException("ctr import: " + res.Err);
            u = t.Elapsed.TotalMilliseconds;
        }
        ours.Add(o); ctr.Add(c); ctrUnpack.Add(u); skip.Add(s); hwm.Add(h);
        Console.WriteLine($"round {r}: ours {o:F0} ms, ctr --no-unpack {c:F0} ms (ours/ctr {o / c:F2}), ctr with unpack {u:F0} ms, second start {s:F0} ms, our peak RSS {h:F0} MiB");
    }
    Console.WriteLine($"median of {rounds}: first import ours {Median(ours):F0} ms, ctr images import --no-unpack {Median(ctr):F0} ms, ratio ours/ctr {Median(ours.Zip(ctr, (a, b) => a / b).ToList()):F2} (median of paired ratios)");
    Console.WriteLine($"median of {rounds}: ctr images import (default, also unpacks into overlayfs) {Median(ctrUnpack):F0} ms");
    Console.WriteLine($"median of {rounds}: second start (archive unchanged: hash + check, no import) {Median(skip):F0} ms");
    Console.WriteLine($"median of {rounds}: peak RSS of the importing process (VmHWM, .NET runtime included) {Median(hwm):F0} MiB; archive {new FileInfo(archive).Length / 1048576.0:F0} MiB");
    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

// One agent start's import in a process of its own, so its peak RSS is the importer's alone.
static (string Status, double Ms, double HwmMiB) Child(string socket, string images, string data)
{
    var res = Containerd.Run("dotnet", [typeof(BigArchive).Assembly.Location, "import", socket, images, data]);
    var line = res.Out.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
               ?? throw new InvalidOperationException("import child failed: " + res.Err + res.Out);
    var f = line.Split(' ');
    return (f[1], double.Parse(f[2]), double.Parse(f[3]));
}

static async Task<int> ImportChild(string socket, string images, string data)
{
    using var preloaded = new PreloadedImages(socket, data, NullLogger.Instance);
    var t = Stopwatch.StartNew();
    var outcome = (await preloaded.ImportAsync([images], CancellationToken.None)).Single();
    var ms = t.Elapsed.TotalMilliseconds;
    var hwmKb = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
    Console.WriteLine($"RESULT {outcome.Status} {ms:F1} {long.Parse(hwmKb) / 1024.0:F1} {outcome.Error}");
    return 0;
}
