// Bytes written per hour by an idle one-node cluster: lease renewal every 10 s, node status heartbeat every 40 s.
using System.Globalization;
using System.Text;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;

namespace Appliance.Bench.RuntimeDatastore;

internal static class IdleBench
{
    /// <summary>Simulated seconds per real second: one simulated hour takes 3.6 s of wall time.</summary>
    private const double DefaultSpeedup = 1000;
    private const string LeaseKey = "/registry/leases/kube-node-lease/node1";
    private const string NodeKey = "/registry/minions/node1";

    /// <summary>Runs the volatile and the naive mode each in a child process (under strace when present) and compares.</summary>
    public static async Task RunChildrenAsync(string root, double simulatedMinutes)
    {
        var self = Environment.ProcessPath!;
        var prefix = Path.GetFileNameWithoutExtension(self) == "dotnet" ? new[] { typeof(IdleBench).Assembly.Location } : [];
        var strace = Util.Which("strace");
        var results = new Dictionary<string, (long Bytes, long Fsyncs)>();
        foreach (var mode in new[] { "volatile", "naive" })
        {
            var dir = Path.Combine(root, "idle-" + mode);
            var childArgs = prefix.Concat(["idle", mode, simulatedMinutes.ToString(CultureInfo.InvariantCulture), dir]).ToList();
            var traceFile = Path.Combine(root, mode + ".strace");
            var (code, output, err) = strace.Length > 0
                ? await Util.RunAsync(strace, new[] { "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", traceFile, self }.Concat(childArgs))
                : await Util.RunAsync(self, childArgs);
            if (code != 0) throw new InvalidOperationException($"idle child ({mode}) failed: {err}");
            var fields = output.Trim().Split(' ').Select(f => f.Split('=')).ToDictionary(f => f[0], f => long.Parse(f[1], CultureInfo.InvariantCulture));
            long fsyncs = -1;
            if (File.Exists(traceFile))
            {
                fsyncs = 0;
                foreach (var line in File.ReadAllLines(traceFile))
                {
                    var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (cols.Length >= 5 && (cols[^1] == "fsync" || cols[^1] == "fdatasync")) fsyncs += long.Parse(cols[3], CultureInfo.InvariantCulture);
                }
            }
            var perHour = 60.0 / simulatedMinutes;
            var bytes = (long)(fields["write_bytes"] * perHour);
            var wchar = (long)(fields["wchar"] * perHour);
            results[mode] = (bytes, (long)(fsyncs * perHour));
            Console.WriteLine($"idle ({mode}): {fields["writes"]} writes in {simulatedMinutes} simulated min -> per hour: {bytes / 1024.0:F0} KiB to disk (write_bytes), {wchar / 1024.0:F0} KiB via write() (wchar), {(fsyncs < 0 ? "n/a" : (fsyncs * perHour).ToString("F0", CultureInfo.InvariantCulture))} fsyncs, {fields["commits"] * perHour:F0} write transactions (most of them change nothing and are not synced)");
        }
        var v = results["volatile"];
        var n = results["naive"];
        Console.WriteLine($"idle: ratio naive/volatile bytes = {(double)n.Bytes / Math.Max(1, v.Bytes):F1}x, fsyncs = {(double)n.Fsyncs / Math.Max(1, v.Fsyncs):F1}x");
    }

    /// <summary>Child: drives one simulated idle period and prints <c>writes= commits= wchar= write_bytes=</c>.</summary>
    public static async Task<string> RunAsync(bool volatileKeys, double simulatedMinutes, string dir, double speedup = DefaultSpeedup)
    {
        var options = new SqliteBackendOptions
        {
            DataDir = dir,
            VolatileKeys = volatileKeys ? VolatileKeyPolicy.Default : null,
            FlushInterval = TimeSpan.FromSeconds(300 / speedup),
            ExpiryInterval = TimeSpan.FromSeconds(1 / speedup),
        };
        var store = new SqliteBackend(options);
        await store.StartAsync();
        var leaseRev = await store.CreateAsync(LeaseKey, Lease(0));
        var nodeRev = await store.CreateAsync(NodeKey, Node(0));
        var before = Util.ProcIo();
        var commitsBefore = store.CommitCount;
        var writes = 0;
        var start = DateTime.UtcNow;
        for (var t = 10; t <= simulatedMinutes * 60; t += 10)
        {
            var due = start + TimeSpan.FromSeconds(t / speedup);
            var wait = due - DateTime.UtcNow;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            leaseRev = Check(await store.UpdateAsync(LeaseKey, Lease(t), leaseRev));
            writes++;
            if (t % 40 == 0)
            {
                nodeRev = Check(await store.UpdateAsync(NodeKey, Node(t), nodeRev));
                writes++;
            }
        }
        var commits = store.CommitCount - commitsBefore;
        await store.DisposeAsync();
        var after = Util.ProcIo();
        return $"writes={writes} commits={commits} wchar={after.Wchar - before.Wchar} write_bytes={after.WriteBytes - before.WriteBytes}";
    }

    private static long Check((long Revision, KeyValue? Kv, bool Updated) r) =>
        r.Updated ? r.Revision : throw new InvalidOperationException("conflict in the idle simulation");

    private static string Time(int t) => new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(t).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static byte[] Lease(int t) => Encoding.UTF8.GetBytes(
        $$$"""{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node1","namespace":"kube-node-lease","uid":"6f1c7c9e-0000-4000-8000-000000000001","creationTimestamp":"2026-01-01T00:00:00Z","ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"node1","uid":"6f1c7c9e-0000-4000-8000-000000000002"}]},"spec":{"holderIdentity":"node1","leaseDurationSeconds":40,"renewTime":"{{{Time(t)}}}.000000Z"}}""");

    private static byte[] Node(int t)
    {
        var conditions = string.Join(",", new[] { "MemoryPressure:False", "DiskPressure:False", "PIDPressure:False", "Ready:True" }.Select(c =>
            $$"""{"type":"{{c.Split(':')[0]}}","status":"{{c.Split(':')[1]}}","lastHeartbeatTime":"{{Time(t)}}","lastTransitionTime":"2026-01-01T00:00:00Z","reason":"Kubelet{{c.Split(':')[0]}}","message":"kubelet reports {{c.Split(':')[0]}}"}"""));
        var images = string.Join(",", Enumerable.Range(0, 12).Select(i =>
            $$"""{"names":["registry.local/app{{i}}@sha256:{{new string((char)('a' + i % 6), 64)}}","registry.local/app{{i}}:v1"],"sizeBytes":{{10_000_000 + i}}}"""));
        return Encoding.UTF8.GetBytes(
            $$$"""{"apiVersion":"v1","kind":"Node","metadata":{"name":"node1","uid":"6f1c7c9e-0000-4000-8000-000000000002","labels":{"kubernetes.io/hostname":"node1","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64"}},"spec":{"podCIDR":"10.42.0.0/24"},"status":{"capacity":{"cpu":"2","memory":"24Gi","pods":"110"},"allocatable":{"cpu":"2","memory":"23Gi","pods":"110"},"conditions":[{{{conditions}}}],"addresses":[{"type":"InternalIP","address":"10.0.0.2"},{"type":"Hostname","address":"node1"}],"nodeInfo":{"kubeletVersion":"v1.32.0","containerRuntimeVersion":"containerd://1.7","osImage":"Appliance","architecture":"amd64"},"images":[{{{images}}}]}}""");
    }
}
