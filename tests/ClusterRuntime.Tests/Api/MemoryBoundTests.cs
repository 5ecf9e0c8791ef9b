// The real server's memory stays bounded whatever its clients do: stuck watchers are cut off, big lists are streamed.
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Api;

[Trait("Category", "External")]
[Collection(MemoryBoundCollection.Name)]
public sealed class MemoryBoundTests
{
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The documented bound (src/ClusterRuntime/README.md, "Memory"): idle RSS + 100 MB under stuck watchers.</summary>
    const long WatchHeadroom = 100L * 1024 * 1024;

    /// <summary>
    /// The documented bound for 8 concurrent lists of 40 × 2.9 MB objects: idle RSS + 300 MB. It was 250 MB before the
    /// controllers ran in the server; their informers follow the 116 MB of writes that precede the lists (the garbage
    /// collector's metadata informer reads each value to take its metadata), and the peak measured afterwards rose to
    /// idle + 237–257 MB (alone, and beside the whole suite).
    /// </summary>
    const long ListHeadroom = 300L * 1024 * 1024;

    /// <summary>
    /// The documented bound for 8 concurrent Table lists and 8 concurrent initial-list watches (16 streams) of the same
    /// objects: idle + 350 MB. Each stream holds one 2.9 MB object (stored bytes and, for a Table row, the parsed copy);
    /// the rest is garbage the workstation GC has not yet returned. Building the lists whole runs into the 512 MiB heap limit.
    /// </summary>
    const long StreamsHeadroom = 350L * 1024 * 1024;

    /// <summary>
    /// "Near idle" after the lists: idle RSS + 120 MB (Kestrel's buffer pool and SQLite's page caches stay). Measured
    /// +52 to +94 MB depending on machine load; the old code kept gigabytes.
    /// </summary>
    const long SettledHeadroom = 120L * 1024 * 1024;

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

    const int LargeObjects = 40, LargeSize = 2_900_000;

    /// <summary>Writes <paramref name="objects"/> ConfigMaps of <paramref name="size"/> bytes each (cm-00, cm-01, ...) into namespace "big".</summary>
    static async Task CreateLargeObjectsAsync(HttpClient http, int objects, int size)
    {
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces", Json.Body(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "big" } }), Ct)).StatusCode);
        // The namespace's own kube-root-ca.crt comes first, so that the lists below are stable; it sorts after cm-*.
        await ServerFixture.NamespaceSettledAsync(http, "big", Ct);
        for (int i = 0; i < objects; i++)
        {
            var body = Json.ConfigMap($"cm-{i:D2}", null, ("v", new string((char)('a' + i % 26), size)));
            using var r = await http.PostAsync("/api/v1/namespaces/big/configmaps", Json.Body(body), Ct);
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }
    }

    /// <summary>What <c>kubectl get</c> asks for.</summary>
    const string TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    static async Task<JsonObject> GetTableAsync(HttpClient http, string path)
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, path);
        req.Headers.TryAddWithoutValidation("Accept", TableAccept);
        using var response = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await Json.ReadAsync(response);
    }

    /// <summary>Reads the first <paramref name="count"/> events of a watch and leaves; their object names.</summary>
    static async Task<List<string>> ReadWatchEventsAsync(RuntimeProcess server, string path, int count)
    {
        using var client = server.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(120);
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        var names = new List<string>();
        while (names.Count < count && await reader.ReadLineAsync(Ct) is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            Assert.Equal("ADDED", doc.RootElement.GetProperty("type").GetString());
            names.Add(doc.RootElement.GetProperty("object").GetProperty("metadata").GetProperty("name").GetString()!);
        }
        return names;
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

        const int objects = LargeObjects;
        await CreateLargeObjectsAsync(http, objects, LargeSize);
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
            Assert.All(lengths, n => Assert.Equal(objects + 1, n)); // and kube-root-ca.crt
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

    [Fact]
    public async Task EightConcurrentTableListsAndEightInitialListWatchesOfLargeObjects_PeakStaysBounded()
    {
        if (!ProcessMemory.Available) Assert.Skip("needs /proc (Linux) to measure the server's RSS");
        using var dir = new TempDir();
        await using var server = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "data"), RuntimeProcess.FreePort());
        using var http = server.CreateClient();
        await Task.Delay(1000, Ct);
        var idle = ProcessMemory.Rss(server.Pid);
        await CreateLargeObjectsAsync(http, LargeObjects, LargeSize);
        var expected = Enumerable.Range(0, LargeObjects).Select(i => $"cm-{i:D2}").ToList();
        ProcessMemory.ResetPeak(server.Pid);

        for (int round = 0; round < 2; round++)
        {
            // As kubectl get asks: a Table, in pages of 500.
            var tables = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                using var client = server.CreateClient();
                client.Timeout = TimeSpan.FromSeconds(120);
                var table = await GetTableAsync(client, "/api/v1/namespaces/big/configmaps?limit=500");
                Assert.Null(table["metadata"]!["continue"]);
                Assert.Equal(["Name", "Data", "Age"], table["columnDefinitions"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
                return table["rows"]!.AsArray().Select(row => row!["cells"]![0]!.GetValue<string>()).Where(n => n != "kube-root-ca.crt").ToList();
            }, Ct));
            var watches = Enumerable.Range(0, 8).Select(w => Task.Run(() =>
                ReadWatchEventsAsync(server, w % 2 == 0 ? "/api/v1/namespaces/big/configmaps?watch=1" : "/api/v1/namespaces/big/configmaps?watch=1&resourceVersion=0", LargeObjects), Ct));
            var results = await Task.WhenAll(tables.Concat(watches));
            Assert.All(results, names => Assert.Equal(expected, names));
        }
        var peak = ProcessMemory.Peak(server.Pid);
        TestContext.Current.TestOutputHelper?.WriteLine($"idle {ProcessMemory.Mb(idle)}, peak {ProcessMemory.Mb(peak)}");
        Assert.True(peak < idle + StreamsHeadroom, $"peak RSS {ProcessMemory.Mb(peak)} during 8 Table lists and 8 initial-list watches; idle was {ProcessMemory.Mb(idle)}, bound idle + {ProcessMemory.Mb(StreamsHeadroom)}");
    }

    [Fact]
    public async Task TableListOverSeveralChunks_PagesByTheClientsLimit_AndKeepsIncludeObject()
    {
        using var dir = new TempDir();
        await using var server = await RuntimeProcess.StartAsync(Path.Combine(dir.Path, "data"), RuntimeProcess.FreePort());
        using var http = server.CreateClient();
        // 1 MB objects: the server reads 1, then 4 per chunk, so a page of 7 spans three chunks.
        const int objects = 12;
        await CreateLargeObjectsAsync(http, objects, 1_000_000);

        var first = await GetTableAsync(http, "/api/v1/namespaces/big/configmaps?limit=7");
        var rv = first["metadata"]!["resourceVersion"]!.GetValue<string>();
        var cont = first["metadata"]!["continue"]!.GetValue<string>();
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"cm-{i:D2}"), first["rows"]!.AsArray().Select(r => r!["cells"]![0]!.GetValue<string>()));
        Assert.All(first["rows"]!.AsArray(), r => Assert.Equal("PartialObjectMetadata", r!["object"]!["kind"]!.GetValue<string>()));

        // A write between pages is not seen: the continue token holds the first page's revision.
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/v1/namespaces/big/configmaps", Json.Body(Json.ConfigMap("cm-99", null, ("v", "x"))), Ct)).StatusCode);
        var second = await GetTableAsync(http, $"/api/v1/namespaces/big/configmaps?limit=7&continue={Uri.EscapeDataString(cont)}&includeObject=Object");
        Assert.Equal(rv, second["metadata"]!["resourceVersion"]!.GetValue<string>());
        Assert.Null(second["metadata"]!["continue"]);
        var rows = second["rows"]!.AsArray();
        Assert.Equal([.. Enumerable.Range(7, objects - 7).Select(i => $"cm-{i:D2}"), "kube-root-ca.crt"], rows.Select(r => r!["cells"]![0]!.GetValue<string>()));
        Assert.All(rows.SkipLast(1), r => Assert.Equal(1_000_000, r!["object"]!["data"]!["v"]!.GetValue<string>().Length));

        // One chunk: Kubernetes' field order, metadata first.
        using var req = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/big/configmaps?limit=1");
        req.Headers.TryAddWithoutValidation("Accept", TableAccept);
        using var one = await http.SendAsync(req, Ct);
        var text = await one.Content.ReadAsStringAsync(Ct);
        Assert.StartsWith("{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{\"resourceVersion\":", text);
    }
}

/// <summary>
/// The memory bounds are measured alone: xunit runs this collection after the parallel ones, so the server's peak is
/// its own, not what CPU starvation by containerd and qemu tests running beside it adds (a starved server's lists
/// time out or pile up buffers the bound is not about).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryBoundCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "memory bounds, run alone";
}
