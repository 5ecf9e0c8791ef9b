// Crash safety: a child process writes under load and is SIGKILLed; every write it acknowledged must be there on reopen.
using System.Globalization;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Datastore;

public sealed class SqliteCrashSafetyTests : IDisposable
{
    private readonly TempDir _dir = new("datastore-crash-");

    public void Dispose() => _dir.Dispose();

    [Fact, Trait("Category", "External")]
    public async Task EveryAcknowledgedWriteSurvivesSigkill()
    {
        var ct = TestContext.Current.CancellationToken;
        var creates = new Dictionary<string, long>(StringComparer.Ordinal);
        long maxAcked = 0;
        // Two rounds: the second run starts from the first one's crash image and is killed too.
        for (var round = 0; round < 2; round++)
        {
            var lines = await RunAndKillAsync(minAcks: 3000, ct);
            Assert.StartsWith("ready ", lines[0]);
            var startRev = long.Parse(lines[0]["ready ".Length..], CultureInfo.InvariantCulture);
            Assert.True(startRev >= maxAcked, $"round {round} started at revision {startRev}, below an acknowledged {maxAcked}");
            foreach (var line in lines.Skip(1))
            {
                var parts = line.Split(' ');
                if (parts.Length != 3) continue; // the last line may be cut by the kill
                var rev = long.Parse(parts[1], CultureInfo.InvariantCulture);
                maxAcked = Math.Max(maxAcked, rev);
                if (parts[0] == "create" && parts[2].StartsWith("/registry/configmaps/", StringComparison.Ordinal)) creates[parts[2]] = rev;
            }
        }

        await using var store = new SqliteBackend(new SqliteBackendOptions { DataDir = _dir.Path });
        await store.StartAsync(ct);
        var list = await store.ListAsync("/registry/configmaps/stress/", ct: ct);
        var stored = list.Items.ToDictionary(k => k.Key, k => k.ModRevision, StringComparer.Ordinal);
        var missing = creates.Where(c => !stored.TryGetValue(c.Key, out var r) || r != c.Value).Select(c => c.Key).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {creates.Count} acknowledged creates are missing, e.g. {string.Join(", ", missing.Take(3))}");
        Assert.True(creates.Count >= 3000, $"only {creates.Count} creates were acknowledged");
        var next = await store.CreateAsync("/registry/configmaps/after-crash", [1], ct: ct);
        Assert.True(next > maxAcked, $"revision {next} handed out again; {maxAcked} was acknowledged before the crash");
        // The leases (volatile, renewed after every create) exist, at some revision not newer than what was acknowledged.
        Assert.Equal(16, (await store.CountAsync("/registry/leases/stress/", ct)).Count);
    }

    /// <summary>Starts the stress writer, waits for <paramref name="minAcks"/> acknowledged writes, SIGKILLs it, returns its stdout lines.</summary>
    private async Task<List<string>> RunAndKillAsync(int minAcks, CancellationToken ct)
    {
        // bench/runtime-datastore's stress writer, built and copied here through the project reference.
        var dll = Path.Combine(AppContext.BaseDirectory, "RuntimeDatastoreBench.dll");
        using var p = ProcessRunner.Start(RuntimeProcess.Dotnet,
            [dll, "stress", "--data-dir", _dir.Path, "--writers", "8"]);
        // More than minAcks complete lines (the first is "ready <rev>").
        var enough = await p.WaitUntilAsync(w => w.Out.Count(c => c == '\n') > minAcks, TimeSpan.FromSeconds(60), ct);
        // ChildProcess.Kill sends SIGKILL: no shutdown code runs in the child.
        p.Kill();
        // Lines printed before the kill are acknowledged too; the last one may be cut by the kill.
        var r = await p.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        var lines = r.Out.Split('\n').ToList();
        if (lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        Assert.True(enough, $"stress writer stopped after {lines.Count} lines: {r.Error}");
        Assert.Equal(137, r.ExitCode);
        return lines;
    }
}
