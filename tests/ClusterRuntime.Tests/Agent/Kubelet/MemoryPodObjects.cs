// Test support: ConfigMaps and Secrets held in memory for the env and volume unit tests (the server test uses the API).
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;

namespace Appliance.ClusterRuntime.Tests.Agent.Kubelet;

/// <summary>An <see cref="IPodObjects"/> over dictionaries; counts the reads so tests can see the per-resolve cache.</summary>
internal sealed class MemoryPodObjects : IPodObjects
{
    public Dictionary<string, JsonObject> ConfigMaps { get; } = [];
    public Dictionary<string, JsonObject> Secrets { get; } = [];
    public int Reads { get; private set; }

    public MemoryPodObjects ConfigMap(string name, params (string Key, string Value)[] data)
    {
        ConfigMaps[name] = new JsonObject { ["data"] = Map(data.Select(d => (d.Key, d.Value))) };
        return this;
    }

    public MemoryPodObjects Secret(string name, params (string Key, string Value)[] data)
    {
        Secrets[name] = new JsonObject { ["data"] = Map(data.Select(d => (d.Key, Convert.ToBase64String(Encoding.UTF8.GetBytes(d.Value))))) };
        return this;
    }

    static JsonObject Map(IEnumerable<(string, string)> pairs)
    {
        var o = new JsonObject();
        foreach (var (k, v) in pairs) o[k] = v;
        return o;
    }

    public Task<JsonObject?> ConfigMapAsync(string ns, string name, CancellationToken ct)
    {
        Reads++;
        return Task.FromResult(ConfigMaps.TryGetValue(name, out var o) ? (JsonObject?)o.DeepClone().AsObject() : null);
    }

    public Task<JsonObject?> SecretAsync(string ns, string name, CancellationToken ct)
    {
        Reads++;
        return Task.FromResult(Secrets.TryGetValue(name, out var o) ? (JsonObject?)o.DeepClone().AsObject() : null);
    }
}
