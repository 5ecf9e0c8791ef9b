// Test helpers of the garbage-collector tests: owned objects created with kubectl, live reads, waits, a recorded watch.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Tests.Support;

namespace Appliance.ClusterRuntime.Tests.Controllers;

/// <summary>kubectl and an HTTP client bound to one server, with a scratch directory for manifests.</summary>
sealed class GcCluster(Support.Kubectl kubectl, HttpClient http) : IDisposable
{
    readonly TempDir _dir = new();
    int _files;

    static CancellationToken Ct => TestContext.Current.CancellationToken;

    public Support.Kubectl Kubectl => kubectl;

    public HttpClient Http => http;

    /// <summary>Creates the object with <c>kubectl create -f</c> and returns it as stored (uid included).</summary>
    public async Task<JsonObject> CreateAsync(JsonObject manifest)
    {
        var file = Path.Combine(_dir.Path, $"m{Interlocked.Increment(ref _files)}.json");
        await File.WriteAllTextAsync(file, manifest.ToJsonString(), Ct);
        return JsonNode.Parse((await kubectl.RunAsync("create", "-f", file, "-o", "json")).Ok().Out)!.AsObject();
    }

    /// <summary>Creates several objects with one <c>kubectl create -f</c> (a stream of JSON documents) and returns them as stored, in order.</summary>
    public async Task<JsonObject[]> CreateAllAsync(params JsonObject[] manifests)
    {
        var file = Path.Combine(_dir.Path, $"m{Interlocked.Increment(ref _files)}.json");
        await File.WriteAllTextAsync(file, string.Join("\n", manifests.Select(m => m.ToJsonString())), Ct);
        // kubectl prints one JSON document per created object.
        var printed = System.Text.Encoding.UTF8.GetBytes((await kubectl.RunAsync("create", "-f", file, "-o", "json")).Ok().Out);
        var reader = new System.Text.Json.Utf8JsonReader(printed, new System.Text.Json.JsonReaderOptions { AllowMultipleValues = true });
        var created = new List<JsonObject>();
        while (reader.Read())
        {
            using var doc = System.Text.Json.JsonDocument.ParseValue(ref reader);
            created.Add(JsonNode.Parse(doc.RootElement.GetRawText())!.AsObject());
        }
        Assert.Equal(manifests.Length, created.Count);
        return [.. created];
    }

    /// <summary>A namespace made with kubectl.</summary>
    public async Task<string> NamespaceAsync(string name)
    {
        Support.Kubectl.RequireInstalled();
        (await kubectl.RunAsync("create", "namespace", name)).Ok();
        return name;
    }

    /// <summary>A ConfigMap manifest owned by <paramref name="owners"/>.</summary>
    public static JsonObject ConfigMap(string ns, string name, params JsonObject[] owners) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = Metadata(ns, name, owners),
        ["data"] = new JsonObject { ["k"] = "v" },
    };

    /// <summary>metadata with a name, namespace and owner references.</summary>
    public static JsonObject Metadata(string ns, string name, params JsonObject[] owners)
    {
        var meta = new JsonObject { ["name"] = name, ["namespace"] = ns };
        if (owners.Length > 0) meta["ownerReferences"] = new JsonArray(owners.Select(o => (JsonNode)o.DeepClone()).ToArray());
        return meta;
    }

    /// <summary>An owner reference to a created object.</summary>
    public static JsonObject Ref(JsonObject owner, bool block = true, bool controller = false) => new()
    {
        ["apiVersion"] = owner["apiVersion"]!.GetValue<string>(),
        ["kind"] = owner["kind"]!.GetValue<string>(),
        ["name"] = owner["metadata"]!["name"]!.GetValue<string>(),
        ["uid"] = owner["metadata"]!["uid"]!.GetValue<string>(),
        ["blockOwnerDeletion"] = block,
        ["controller"] = controller,
    };

    /// <summary>Reads an object over HTTP; null when it is gone.</summary>
    public async Task<JsonObject?> GetAsync(string path)
    {
        using var r = await http.GetAsync(path, Ct);
        if (r.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        r.EnsureSuccessStatusCode();
        return await Json.ReadAsync(r);
    }

    /// <summary>The ConfigMap, or null.</summary>
    public Task<JsonObject?> ConfigMapAsync(string ns, string name) => GetAsync($"/api/v1/namespaces/{ns}/configmaps/{name}");

    /// <summary>Waits up to 30 s (a loaded machine) for <paramref name="condition"/>; on timeout fails with <paramref name="observed"/>.</summary>
    public static Task WaitAsync(Func<Task<bool>> condition, string what, Func<Task<string>> observed) =>
        Poll.UntilAsync(what, condition, TimeSpan.FromSeconds(30), observed, Ct);

    /// <summary>Waits until every named ConfigMap of <paramref name="ns"/> is gone.</summary>
    public Task WaitGoneAsync(string ns, params string[] names) =>
        WaitAsync(async () => (await Task.WhenAll(names.Select(n => ConfigMapAsync(ns, n)))).All(o => o is null),
            $"configmaps {string.Join(", ", names)} in {ns} to be deleted", () => DescribeAsync(ns));

    /// <summary>The ConfigMaps of a namespace: name, deletion mark, finalizers and owner uids.</summary>
    public async Task<string> DescribeAsync(string ns)
    {
        var list = await GetAsync($"/api/v1/namespaces/{ns}/configmaps");
        return string.Join("; ", (list?["items"]?.AsArray() ?? []).Select(i => i!["metadata"]!).Select(m =>
            $"{m["name"]} deleting={m["deletionTimestamp"] is not null} finalizers={m["finalizers"]?.ToJsonString() ?? "[]"} owners={m["ownerReferences"]?.ToJsonString() ?? "[]"}"));
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>One watch event as recorded: type, name, and whether the object carried a deletionTimestamp and which finalizers.</summary>
sealed record Seen(string Type, string Name, bool Deleting, string Finalizers);

/// <summary>Records the ConfigMap watch events of a namespace, in order, from a raw watch stream.</summary>
sealed class ConfigMapWatch : IAsyncDisposable
{
    readonly List<Seen> _events = [];
    readonly CancellationTokenSource _stop = new();
    readonly Task _reading;

    ConfigMapWatch(HttpClient http, string ns) => _reading = Task.Run(() => ReadAsync(http, ns));

    /// <summary>Starts watching (the initial list arrives as ADDED events).</summary>
    public static async Task<ConfigMapWatch> StartAsync(HttpClient http, string ns, params string[] expectAdded)
    {
        var watch = new ConfigMapWatch(http, ns);
        await GcCluster.WaitAsync(() => Task.FromResult(expectAdded.All(n => watch.Events.Any(e => e.Type == "ADDED" && e.Name == n))),
            "the watch's initial events", () => Task.FromResult(watch.ToString()));
        return watch;
    }

    /// <summary>The events so far.</summary>
    public List<Seen> Events { get { lock (_events) return [.. _events]; } }

    /// <summary>The position of the first event matching <paramref name="match"/>, or -1.</summary>
    public int IndexOf(Func<Seen, bool> match) => Events.FindIndex(e => match(e));

    async Task ReadAsync(HttpClient http, string ns)
    {
        try
        {
            using var response = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=1", HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(_stop.Token));
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0) continue;
                var ev = JsonNode.Parse(line)!;
                var meta = ev["object"]!["metadata"]!;
                lock (_events)
                    _events.Add(new Seen(ev["type"]!.GetValue<string>(), meta["name"]!.GetValue<string>(), meta["deletionTimestamp"] is not null, meta["finalizers"]?.ToJsonString() ?? "[]"));
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
    }

    public override string ToString() => string.Join(" | ", Events.Select(e => $"{e.Type} {e.Name}{(e.Deleting ? " (deleting " + e.Finalizers + ")" : "")}"));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _reading; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
