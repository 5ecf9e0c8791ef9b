// The controller machinery in-process: work queue semantics, informer cache and indexes, leader election.
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Datastore;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Appliance.ClusterRuntime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Appliance.ClusterRuntime.Tests.Controllers;

[Trait("Category", "Unit")]
public sealed class MachineryTests : IAsyncLifetime
{
    readonly TempDir _dir = new("machinery-");
    IBackend _backend = null!;
    ObjectStore _store = null!;
    static CancellationToken Ct => TestContext.Current.CancellationToken;
    static readonly ApiResource ConfigMaps = Obj.Resource("", "configmaps");

    public async ValueTask InitializeAsync()
    {
        _backend = new SqliteBackend(new SqliteBackendOptions { DataDir = _dir.Path });
        await _backend.StartAsync(Ct);
        _store = new ObjectStore(_backend, TimeProvider.System);
        foreach (var ns in new[] { "default", "kube-system" })
            await _store.CreateAsync(ResourceTable.Namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _backend.DisposeAsync();
        _dir.Dispose();
    }

    static JsonObject ConfigMap(string name, string value, string? ownerUid = null)
    {
        var meta = new JsonObject { ["name"] = name };
        if (ownerUid is not null) meta["ownerReferences"] = new JsonArray(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["name"] = "owner", ["uid"] = ownerUid });
        return new JsonObject { ["metadata"] = meta, ["data"] = new JsonObject { ["v"] = value } };
    }

    static Task Eventually(Func<bool> condition, string what, int ms = 5000) =>
        Poll.UntilAsync(() => Task.FromResult(condition()), ok => ok, TimeSpan.FromMilliseconds(ms), what, interval: TimeSpan.FromMilliseconds(20));

    [Fact]
    public async Task WorkQueue_DeduplicatesKeys_NeverRunsOneKeyTwiceAtOnce_AndRetriesFailures()
    {
        var queue = new WorkQueue("test", NullLogger.Instance);
        var runs = new ConcurrentDictionary<string, int>();
        var inProgress = new ConcurrentDictionary<string, int>();
        int overlap = 0, failures = 0;
        var gate = new TaskCompletionSource();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = queue.RunAsync(4, async (key, ct) =>
        {
            if (inProgress.AddOrUpdate(key, 1, (_, n) => n + 1) > 1) Interlocked.Increment(ref overlap);
            try
            {
                if (key == "a") await gate.Task.WaitAsync(ct);
                if (key == "flaky" && Interlocked.Increment(ref failures) < 3) throw new InvalidOperationException("not yet");
                runs.AddOrUpdate(key, 1, (_, n) => n + 1);
            }
            finally { inProgress.AddOrUpdate(key, 0, (_, n) => n - 1); }
        }, cts.Token);

        queue.Add("a");
        await Eventually(() => inProgress.GetValueOrDefault("a") == 1, "a is being processed");
        for (int i = 0; i < 10; i++) queue.Add("a"); // queued again while in progress: one more run afterwards
        for (int i = 0; i < 10; i++) queue.Add("b");
        queue.Add("flaky");
        await Eventually(() => runs.GetValueOrDefault("b") >= 1 && runs.GetValueOrDefault("flaky") == 1, "b and flaky done");
        gate.SetResult();
        await Eventually(() => runs.GetValueOrDefault("a") == 2, "a ran twice");
        await Task.Delay(200, Ct);
        Assert.Equal(2, runs["a"]);
        Assert.Equal(1, runs["b"]);
        Assert.Equal(3, failures);
        Assert.Equal(0, overlap);
        await cts.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Informer_ListsThenFollowsChanges_WithIndexesAndOldNewPairs()
    {
        await _store.CreateAsync(ConfigMaps, "default", ConfigMap("before", "1", ownerUid: "u1"), Ct);
        var informer = new Informer(_backend, ConfigMaps, NullLogger.Instance);
        informer.AddIndex("owner", o => Obj.Items(o, "metadata", "ownerReferences").Select(r => Obj.Str(r, "uid")!));
        var seen = new ConcurrentQueue<string>();
        informer.OnChange((old, cur) => seen.Enqueue($"{(old is null ? "-" : Obj.Str(old, "data", "v"))}>{(cur is null ? "-" : Obj.Str(cur, "data", "v"))}"));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = informer.RunAsync(cts.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal("1", Obj.Str(informer.Get("default", "before"), "data", "v"));

        await _store.CreateAsync(ConfigMaps, "default", ConfigMap("after", "2", ownerUid: "u1"), Ct);
        await _store.UpdateAsync(ConfigMaps, "default", "before", o => { o["data"]!["v"] = "3"; return o; }, false, Ct);
        await Eventually(() => informer.ByIndex("owner", "u1").Count == 2 && Obj.Str(informer.Get("default/before"), "data", "v") == "3", "cache follows");
        await _store.DeleteAsync(ConfigMaps, "default", "after", DeleteOptions.None, Ct);
        await Eventually(() => informer.Get("default", "after") is null, "delete seen");
        Assert.Single(informer.ByIndex("owner", "u1"));
        Assert.Equal(["->1", "->2", "1>3", "2>-"], seen.ToArray());
        Assert.Equal(await _backend.CurrentRevisionAsync(Ct), informer.Revision);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task LeaderElection_OneLeaderAtATime_AndTakeoverAfterTheLeaderStops()
    {
        var leading = new ConcurrentDictionary<string, bool>();
        int overlaps = 0;
        LeaderElector Make(string id) => new(_store, id, NullLogger.Instance)
        {
            LeaseDuration = TimeSpan.FromSeconds(2),
            RenewDeadline = TimeSpan.FromSeconds(1.5),
            RetryPeriod = TimeSpan.FromMilliseconds(200),
        };
        async Task Lead(string id, CancellationToken ct)
        {
            leading[id] = true;
            if (leading.Count(kv => kv.Value) > 1) Interlocked.Increment(ref overlaps);
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { }
            finally { leading[id] = false; }
        }
        using var ctsA = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using var ctsB = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var a = Make("a").RunAsync(ct => Lead("a", ct), ctsA.Token);
        await Eventually(() => leading.GetValueOrDefault("a"), "a leads");
        var b = Make("b").RunAsync(ct => Lead("b", ct), ctsB.Token);
        await Task.Delay(3000, Ct); // longer than the lease: a keeps renewing, so b must not lead
        Assert.False(leading.GetValueOrDefault("b"), "b led while a renewed its lease");

        var stopped = DateTime.UtcNow;
        await ctsA.CancelAsync(); // a dies without releasing: b waits for the lease to expire
        await a;
        await Eventually(() => leading.GetValueOrDefault("b"), "b takes over", 6000);
        var took = DateTime.UtcNow - stopped;
        Assert.True(took >= TimeSpan.FromSeconds(1.5), $"b took over after {took.TotalSeconds:F1} s, before the lease could expire");
        var lease = await _store.GetAsync(Obj.Resource("coordination.k8s.io", "leases"), LeaderElector.LeaseNamespace, LeaderElector.LeaseName, null, Ct);
        Assert.Equal("b", Obj.Str(lease, "spec", "holderIdentity"));
        Assert.Equal(1, Obj.Int(lease, -1, "spec", "leaseTransitions"));
        Assert.Equal(0, overlaps);
        await ctsB.CancelAsync();
        await b;
    }
}
