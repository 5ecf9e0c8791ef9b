// Keeps the `kubernetes` Service in `default` and its Endpoints and EndpointSlice listing every live API server.
using System.Net;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;
using Appliance.ClusterRuntime.Datastore;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Controllers.KubernetesService;

/// <summary>
/// Runs on every server, leader or not, as kube-apiserver's lease endpoint reconciler: every
/// <see cref="Interval"/> the server renews its own key <c>/registry/masterleases/IP:PORT</c> (a datastore lease of
/// <see cref="LeaseSeconds"/>), then makes the <c>kubernetes</c> Endpoints and EndpointSlice list exactly the servers
/// whose keys are alive. A server that stops cleanly removes its key and itself at once; one that dies drops out when
/// its key expires. The Service itself (first address of the service range, port 443 <c>https</c>) is created when
/// missing, and so is the ConfigMap of the cluster's network settings (<see cref="ClusterNetworkConfig"/>).
/// </summary>
public sealed class KubernetesServiceReconciler(ObjectStore store, IPAddress address, int port, ControllerOptions options, ILogger logger)
{
    /// <summary>How often the server renews its key and reconciles (upstream's 10 s).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>How long a key lives without renewal (upstream's master lease TTL, 15 s).</summary>
    public const long LeaseSeconds = 15;

    /// <summary>Name of the Service, Endpoints and EndpointSlice.</summary>
    public const string Name = "kubernetes";

    const string Namespace = "default";
    const string LeasePrefix = "/registry/masterleases/";
    static readonly ApiResource Services = Obj.Resource("", "services");
    static readonly ApiResource Endpoints = Obj.Resource("", "endpoints");
    static readonly ApiResource Slices = Obj.Resource("discovery.k8s.io", "endpointslices");

    string LeaseKey => $"{LeasePrefix}{address}:{port}";

    /// <summary>Reconciles every <see cref="Interval"/> until <paramref name="ct"/> is cancelled, then removes this server.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        string? lastFailure = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ReconcileAsync(ct);
                lastFailure = null;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception e)
            {
                if (e.Message != lastFailure) logger.LogWarning("reconciling the kubernetes Service endpoints failed: {Error}; retrying every {Interval}", e.Message, Interval);
                lastFailure = e.Message;
            }
            try { await Task.Delay(Interval, ct); } catch (OperationCanceledException) { break; }
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await store.Backend.DeleteAsync(LeaseKey, 0, timeout.Token);
            await WriteEndpointsAsync(await LiveServersAsync(timeout.Token), timeout.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogDebug("removing this server from the kubernetes endpoints failed: {Error}", e.Message);
        }
    }

    /// <summary>One pass: the Service, this server's key, and the endpoints.</summary>
    public async Task ReconcileAsync(CancellationToken ct)
    {
        await EnsureServiceAsync(ct);
        if (await ClusterNetworkConfig.PublishAsync(store, options, ct))
            logger.LogWarning("{Ns}/{Name} held other network settings (another server started with other flags?); now this server's",
                ClusterNetworkConfig.Namespace, ClusterNetworkConfig.Name);
        await RenewAsync(ct);
        await WriteEndpointsAsync(await LiveServersAsync(ct), ct);
    }

    async Task EnsureServiceAsync(CancellationToken ct)
    {
        var (kv, _) = await store.TryGetAsync(Services, Namespace, Name, ct);
        if (kv is not null) return;
        var first = new Api.Storage.Services.IpRange(options.ServiceCidr);
        var svc = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = Name,
                ["namespace"] = Namespace,
                ["labels"] = new JsonObject { ["component"] = "apiserver", ["provider"] = "kubernetes" },
            },
            ["spec"] = new JsonObject
            {
                ["type"] = "ClusterIP",
                ["clusterIP"] = first.At(first.First).ToString(),
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["port"] = 443, ["protocol"] = "TCP", ["targetPort"] = port }),
                ["sessionAffinity"] = "None",
            },
        };
        try { await store.CreateAsync(Services, Namespace, svc, ct); }
        catch (ApiException e) when (e.Code == 409) { }
    }

    async Task RenewAsync(CancellationToken ct)
    {
        var value = Meta.ToBytes(new JsonObject { ["ip"] = address.ToString(), ["port"] = port });
        var (_, kv) = await store.Backend.GetAsync(LeaseKey, 0, ct);
        if (kv is null)
        {
            try { await store.Backend.CreateAsync(LeaseKey, value, LeaseSeconds, ct); }
            catch (KeyExistsException) { }
            return;
        }
        await store.Backend.UpdateAsync(LeaseKey, value, kv.ModRevision, LeaseSeconds, ct);
    }

    /// <summary>The (address, port) of every server whose key is alive, sorted.</summary>
    async Task<List<(string Ip, int Port)>> LiveServersAsync(CancellationToken ct)
    {
        var page = await store.Backend.ListAsync(LeasePrefix, "", 0, 0, ct);
        var live = new List<(string, int)>();
        foreach (var kv in page.Items)
        {
            var o = JsonNode.Parse(kv.Value) as JsonObject;
            if (o?["ip"]?.GetValue<string>() is { } ip && Obj.Long(o, "port") is { } p) live.Add((ip, (int)p));
        }
        return live.Distinct().OrderBy(s => s.Item2).ThenBy(s => s.Item1, StringComparer.Ordinal).ToList();
    }

    async Task WriteEndpointsAsync(List<(string Ip, int Port)> servers, CancellationToken ct)
    {
        // Servers normally share one port; if they do not, each port is its own subset (Endpoints) and slice.
        var byPort = servers.GroupBy(s => s.Port).ToList();
        var subsets = new JsonArray(byPort.Select(g => (JsonNode)new JsonObject
        {
            ["addresses"] = new JsonArray(g.Select(s => (JsonNode)new JsonObject { ["ip"] = s.Ip }).ToArray()),
            ["ports"] = new JsonArray(Port(g.Key)),
        }).ToArray());
        await UpsertAsync(Endpoints, Name, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = Name, ["namespace"] = Namespace, ["labels"] = new JsonObject { ["endpointslice.kubernetes.io/skip-mirror"] = "true" } },
            ["subsets"] = subsets,
        }, ct);
        var names = new HashSet<string>();
        for (int i = 0; i < Math.Max(1, byPort.Count); i++)
        {
            var name = i == 0 ? Name : $"{Name}-{byPort[i].Key}";
            names.Add(name);
            var group = i < byPort.Count ? byPort[i].ToList() : [];
            await UpsertAsync(Slices, name, new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Namespace, ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = Name } },
                ["addressType"] = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4",
                ["endpoints"] = new JsonArray(group.Select(s => (JsonNode)new JsonObject
                {
                    ["addresses"] = new JsonArray(s.Ip),
                    ["conditions"] = new JsonObject { ["ready"] = true },
                }).ToArray()),
                ["ports"] = i < byPort.Count ? new JsonArray(Port(byPort[i].Key)) : new JsonArray(),
            }, ct);
        }
        var existing = await store.ListAsync(Slices, Namespace, new ListOptions(
            Api.Selectors.LabelSelector.Parse("kubernetes.io/service-name=" + Name), Api.Selectors.FieldSelector.Everything, 0, null, null, null), ct);
        foreach (var stale in existing.Items.Where(s => !names.Contains(Meta.Name(s)!) && Meta.Label(s, "endpointslice.kubernetes.io/managed-by") is null))
        {
            try { await store.DeleteAsync(Slices, Namespace, Meta.Name(stale)!, DeleteOptions.None, ct); }
            catch (ApiException e) when (e.Code == 404) { }
        }
    }

    static JsonObject Port(int port) => new() { ["name"] = "https", ["port"] = port, ["protocol"] = "TCP" };

    /// <summary>Creates <paramref name="desired"/>, or replaces the stored object's content when it differs.</summary>
    async Task UpsertAsync(ApiResource r, string name, JsonObject desired, CancellationToken ct)
    {
        var (kv, current) = await store.TryGetAsync(r, Namespace, name, ct);
        if (current is null)
        {
            try { await store.CreateAsync(r, Namespace, desired, ct); }
            catch (ApiException e) when (e.Code == 409) { }
            return;
        }
        if (Same(current, desired)) return;
        await store.UpdateAsync(r, Namespace, name, cur =>
        {
            foreach (var (k, v) in desired)
                if (k != "metadata") cur[k] = v?.DeepClone();
            Meta.Of(cur)["labels"] = desired["metadata"]!["labels"]!.DeepClone();
            return cur;
        }, false, ct);
    }

    static bool Same(JsonObject current, JsonObject desired) =>
        desired.Where(p => p.Key != "metadata").All(p => JsonNode.DeepEquals(current[p.Key], p.Value))
        && JsonNode.DeepEquals(current["metadata"]?["labels"], desired["metadata"]?["labels"]);
}
