// Bytes and rows written per hour by an idle one-node cluster (lease renewal every 10 s, node heartbeat every 40 s), on both backends.
using System.Globalization;
using System.Text;
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.Bench.RuntimeDatastore;

internal static class IdleBench
{
    /// <summary>Simulated seconds per real second: one simulated hour takes 3.6 s of wall time.</summary>
    private const double DefaultSpeedup = 1000;
    private const string LeaseKey = "/registry/leases/kube-node-lease/node1";
    private const string NodeKey = "/registry/minions/node1";

    /// <summary>
    /// Runs the volatile and the naive mode on each backend, each in a child process (SQLite under strace when present),
    /// and compares. SQLite: bytes the child wrote to the block layer. PostgreSQL: WAL bytes and WAL syncs of the
    /// server (pg_stat_wal; the table pages reach disk later, at checkpoints, from those WAL records).
    /// </summary>
    public static async Task RunChildrenAsync(string root, double simulatedMinutes)
    {
        var self = Environment.ProcessPath!;
        var prefix = Path.GetFileNameWithoutExtension(self) == "dotnet" ? new[] { typeof(IdleBench).Assembly.Location } : [];
        var strace = Util.Which("strace");
        var perHour = 60.0 / simulatedMinutes;
        PgServer? pg = null;
        if (PgServer.SkipReason() is { } why) Console.WriteLine($"idle (postgres): skipped ({why})");
        else pg = await PgServer.StartAsync(root, Path.Combine(root, "idle-pg"));
        try
        {
            foreach (var backend in pg is null ? new[] { "sqlite" } : ["sqlite", "postgres"])
            {
                var results = new Dictionary<string, Dictionary<string, long>>();
                foreach (var mode in new[] { "volatile", "naive" })
                {
                    var target = backend == "sqlite" ? Path.Combine(root, "idle-" + mode) : await pg!.CreateDatabaseAsync("idle_" + mode);
                    var childArgs = prefix.Concat(["idle", backend, mode, simulatedMinutes.ToString(CultureInfo.InvariantCulture), target]).ToList();
                    var traceFile = Path.Combine(root, mode + ".strace");
                    var (code, output, err) = strace.Length > 0 && backend == "sqlite"
                        ? await Util.RunAsync(strace, new[] { "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", traceFile, self }.Concat(childArgs))
                        : await Util.RunAsync(self, childArgs);
                    if (code != 0) throw new InvalidOperationException($"idle child ({backend} {mode}) failed: {err}");
                    var fields = output.Trim().Split(' ').Select(f => f.Split('=')).ToDictionary(f => f[0], f => long.Parse(f[1], CultureInfo.InvariantCulture));
                    if (backend == "sqlite" && File.Exists(traceFile))
                    {
                        long fsyncs = 0;
                        foreach (var line in File.ReadAllLines(traceFile))
                        {
                            var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                            if (cols.Length >= 5 && (cols[^1] == "fsync" || cols[^1] == "fdatasync")) fsyncs += long.Parse(cols[3], CultureInfo.InvariantCulture);
                        }
                        fields["fsyncs"] = fsyncs;
                    }
                    results[mode] = fields;
                    string H(string f) => fields.TryGetValue(f, out var v) ? (v * perHour).ToString("F0", CultureInfo.InvariantCulture) : "n/a";
                    string KiB(string f) => fields.TryGetValue(f, out var v) ? (v * perHour / 1024).ToString("F0", CultureInfo.InvariantCulture) : "n/a";
                    Console.WriteLine(backend == "sqlite"
                        ? $"idle sqlite ({mode}): {fields["writes"]} writes in {simulatedMinutes} simulated min -> per hour: {KiB("write_bytes")} KiB to disk (write_bytes), {KiB("wchar")} KiB via write() (wchar), {H("fsyncs")} fsyncs, {H("rows")} log rows, {H("commits")} write transactions that stored something"
                        : $"idle postgres ({mode}): {fields["writes"]} writes in {simulatedMinutes} simulated min -> per hour: {KiB("wal_bytes")} KiB of WAL, {H("wal_syncs")} WAL syncs, {H("rows")} log rows, {H("commits")} write transactions");
                }
                var (v, n) = (results["volatile"], results["naive"]);
                var bytes = backend == "sqlite" ? "write_bytes" : "wal_bytes";
                var syncs = backend == "sqlite" ? "fsyncs" : "wal_syncs";
                double Ratio(string f) => n.TryGetValue(f, out var a) && v.TryGetValue(f, out var b) ? (double)a / Math.Max(1, b) : double.NaN;
                Console.WriteLine($"idle {backend}: ratio naive/volatile bytes = {Ratio(bytes):F1}x, syncs = {Ratio(syncs):F1}x, log rows = {Ratio("rows"):F1}x");
            }
        }
        finally
        {
            if (pg is not null) await pg.DisposeAsync();
        }
    }

    /// <summary>
    /// Child: drives one simulated idle period on <paramref name="backend"/> (<c>sqlite</c> with a directory,
    /// <c>postgres</c> with a connection string) and prints <c>writes= commits= rows=</c> plus the I/O counters.
    /// </summary>
    public static async Task<string> RunAsync(string backend, bool volatileKeys, double simulatedMinutes, string target, double speedup = DefaultSpeedup)
    {
        var (store, commitCount) = IdleStores.Open(backend, target, volatileKeys, TimeSpan.FromSeconds(300 / speedup), TimeSpan.FromSeconds(1 / speedup));
        await store.StartAsync();
        var leaseRev = await store.CreateAsync(LeaseKey, Lease(0));
        var nodeRev = await store.CreateAsync(NodeKey, Node(0));
        var before = Util.ProcIo();
        var pgBefore = backend == "postgres" ? await IdleStores.PgCountersAsync(target) : default;
        var rowsBefore = await IdleStores.LogRowsAsync(backend, target);
        var commitsBefore = commitCount();
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
        var commits = commitCount() - commitsBefore;
        await store.DisposeAsync();
        var after = Util.ProcIo();
        var rows = await IdleStores.LogRowsAsync(backend, target) - rowsBefore;
        if (backend == "postgres")
        {
            await Task.Delay(1500); // server processes report their WAL statistics about once a second
            var pgAfter = await IdleStores.PgCountersAsync(target);
            return $"writes={writes} commits={commits} rows={rows} wal_bytes={pgAfter.WalBytes - pgBefore.WalBytes} wal_syncs={pgAfter.WalSyncs - pgBefore.WalSyncs}";
        }
        return $"writes={writes} commits={commits} rows={rows} wchar={after.Wchar - before.Wchar} write_bytes={after.WriteBytes - before.WriteBytes}";
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
