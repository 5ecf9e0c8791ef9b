// The real server's memory stays bounded whatever its clients do: stuck watchers are cut off, big lists are streamed.
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
public sealed class MemoryBoundTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The documented bound (src/ClusterRuntime/README.md, "Memory"): idle RSS + 100 MB under stuck watchers.</summary>
    const long WatchHeadroom = 100L * 1024 * 1024;

    /// <summary>The documented bound for 8 concurrent lists of 40 × 2.9 MB objects: idle RSS + 250 MB.</summary>
    const long ListHeadroom = 250L * 1024 * 1024;

    /// <summary>"Near idle" after the lists: idle RSS + 80 MB (Kestrel's buffer pool and SQLite's page caches stay).</summary>
    const long SettledHeadroom = 80L * 1024 * 1024;

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public async Task StuckWatchers_AreCutOff_MemoryStaysBounded_AndANormalWatcherMissesNothing(int stuck)
    {
        if (!ProcessMemory.Available) Assert.Skip("needs /proc (Linux) to measure the server's RSS");
        using var dir = new TempDir();
        await using var server = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "data"), RuntimeProcess.FreePort());
        using var http = server.CreateClient();
        const int writers = 8, writesEach = 500;
        var value = new string('x', 100 * 1024);
        for (int w = 0; w < writers; w++)
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/default/configmaps", Json.Body(Json.ConfigMap($"big-{w}", null, ("v", value))), Ct)).StatusCode);
        var list = await Json.ReadAsync(await http.GetAsync("/api/v1/namespaces/default/configmaps", Ct));
        var from = list["metadata"]!["resourceVersion"]!.GetValue<string>();
        await Task.Delay(1000, Ct);
        var idle = ProcessMemory.Rss(server.Pid);
        ProcessMemory.ResetPeak(server.Pid);

        var watchPath = $"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={from}";
        var stuckWatches = new List<RawWatch>();
        for (int i = 0; i < stuck; i++) stuckWatches.Add(await RawWatch.OpenAsync(server, watchPath, Ct));

        using var watchClient = server.CreateClient();
        watchClient.Timeout = Timeout.InfiniteTimeSpan;
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var seen = new List<long>();
        var normal = Task.Run(async () =>
        {
            using var response = await watchClient.GetAsync(watchPath, HttpCompletionOption.ResponseHeadersRead, watchCts.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(watchCts.Token));
            while (seen.Count < writers * writesEach && await reader.ReadLineAsync(watchCts.Token) is { } line)
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.GetProperty("type").GetString() != "MODIFIED") continue;
                seen.Add(long.Parse(doc.RootElement.GetProperty("object").GetProperty("metadata").GetProperty("resourceVersion").GetString()!));
            }
        }, Ct);

        var peakDuring = 0L;
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakDuring = Math.Max(peakDuring, ProcessMemory.Rss(server.Pid));
                try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { }
            }
        }, Ct);

        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < writesEach; i++)
            {
                var body = Json.ConfigMap($"big-{w}", null, ("v", value), ("i", i.ToString()));
                using var r = await http.PutAsync($"/api/v1/namespaces/default/configmaps/big-{w}", Json.Body(body), Ct);
                if (r.StatusCode != HttpStatusCode.OK) Interlocked.Increment(ref failures);
            }
        }, Ct)));
        Assert.Equal(0, failures);

        watchCts.CancelAfter(TimeSpan.FromSeconds(20));
        await normal;
        await sampling.CancelAsync();
        await sampler;
        var peak = Math.Max(peakDuring, ProcessMemory.Peak(server.Pid));

        // The normal watcher saw every write, in order, once.
        Assert.Equal(writers * writesEach, seen.Count);
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First < p.Second), "events out of order or repeated");

        Assert.True(peak < idle + WatchHeadroom, $"peak RSS {ProcessMemory.Mb(peak)} with {stuck} stuck watcher(s); idle was {ProcessMemory.Mb(idle)}, bound idle + {ProcessMemory.Mb(WatchHeadroom)}");
        foreach (var w in stuckWatches)
        {
            Assert.True(await w.EndsWithinAsync(TimeSpan.FromSeconds(10)), $"the stuck watch from {w.LocalEndpoint} is still open");
            Assert.Contains(w.LocalEndpoint, server.Log);
            await w.DisposeAsync();
        }
        Assert.Contains("cut off", server.Log);
        TestContext.Current.TestOutputHelper?.WriteLine($"idle {ProcessMemory.Mb(idle)}, peak {ProcessMemory.Mb(peak)}");
    }

    [Fact]
    public async Task EightConcurrentListsOfLargeObjects_PeakStaysBounded_AndMemoryReturns()
    {
        if (!ProcessMemory.Available) Assert.Skip("needs /proc (Linux) to measure the server's RSS");
        using var dir = new TempDir();
        await using var server = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "data"), RuntimeProcess.FreePort());
        using var http = server.CreateClient();
        await Task.Delay(1000, Ct);
        var idle = ProcessMemory.Rss(server.Pid);

        const int objects = 40, size = 2_900_000;
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces", Json.Body(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "big" } }), Ct)).StatusCode);
        for (int i = 0; i < objects; i++)
        {
            var body = Json.ConfigMap($"cm-{i:D2}", null, ("v", new string((char)('a' + i % 26), size)));
            using var r = await http.PostAsync("/api/v1/namespaces/big/configmaps", Json.Body(body), Ct);
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }
        ProcessMemory.ResetPeak(server.Pid);

        for (int round = 0; round < 3; round++)
        {
            var lengths = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                using var client = server.CreateClient();
                client.Timeout = TimeSpan.FromSeconds(60);
                using var response = await client.GetAsync("/api/v1/namespaces/big/configmaps", HttpCompletionOption.ResponseHeadersRead, Ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await using var body = await response.Content.ReadAsStreamAsync(Ct);
                using var doc = await JsonDocument.ParseAsync(body, cancellationToken: Ct);
                return doc.RootElement.GetProperty("items").GetArrayLength();
            }, Ct)));
            Assert.All(lengths, n => Assert.Equal(objects, n));
        }
        var peak = ProcessMemory.Peak(server.Pid);
        TestContext.Current.TestOutputHelper?.WriteLine($"idle {ProcessMemory.Mb(idle)}, peak {ProcessMemory.Mb(peak)}");
        Assert.True(peak < idle + ListHeadroom, $"peak RSS {ProcessMemory.Mb(peak)} during 8 concurrent lists; idle was {ProcessMemory.Mb(idle)}, bound idle + {ProcessMemory.Mb(ListHeadroom)}");

        var settled = long.MaxValue;
        for (var deadline = DateTime.UtcNow.AddSeconds(20); DateTime.UtcNow < deadline && settled >= idle + SettledHeadroom;)
        {
            await Task.Delay(500, Ct);
            settled = ProcessMemory.Rss(server.Pid);
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"settled {ProcessMemory.Mb(settled)}");
        Assert.True(settled < idle + SettledHeadroom, $"RSS {ProcessMemory.Mb(settled)} 20 s after the lists; idle was {ProcessMemory.Mb(idle)}, bound idle + {ProcessMemory.Mb(SettledHeadroom)}");
    }
}
