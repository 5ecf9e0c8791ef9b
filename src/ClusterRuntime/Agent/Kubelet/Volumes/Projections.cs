// The files of configMap, secret, downwardAPI and projected volumes, as payloads for the AtomicWriter.
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>
/// Builds a volume's payload from its source and the objects it names. Missing objects or keys throw
/// <see cref="IOException"/> with upstream's cause text (the caller wraps it in <see cref="VolumeSetupException"/>);
/// an optional source that is missing projects nothing.
/// </summary>
internal sealed class Projections(IPodObjects objects, JsonObject pod, PodFacts facts, IServiceAccountTokens? tokens = null)
{
    /// <summary>The API's default file mode for these volumes, 0644.</summary>
    public const int DefaultMode = 420;

    string Namespace => DownwardApi.Str(pod["metadata"]?["namespace"]) is { Length: > 0 } n ? n : "default";

    /// <summary>The payload of a <c>configMap</c> volume source.</summary>
    public Task<Dictionary<string, FileProjection>> ConfigMapAsync(JsonObject source, CancellationToken ct) =>
        KeyedAsync("configmap", DownwardApi.Str(source["name"]), source, Bits(source["defaultMode"], DefaultMode), ct);

    /// <summary>The payload of a <c>secret</c> volume source.</summary>
    public Task<Dictionary<string, FileProjection>> SecretAsync(JsonObject source, CancellationToken ct) =>
        KeyedAsync("secret", DownwardApi.Str(source["secretName"]), source, Bits(source["defaultMode"], DefaultMode), ct);

    /// <summary>The payload of a <c>downwardAPI</c> volume source.</summary>
    public Dictionary<string, FileProjection> DownwardApiFiles(JsonObject source, int defaultMode)
    {
        var files = new Dictionary<string, FileProjection>(StringComparer.Ordinal);
        foreach (var item in (source["items"] as JsonArray ?? []).OfType<JsonObject>())
        {
            string value;
            if (item["fieldRef"] is JsonObject field)
                value = DownwardApi.Field(pod, DownwardApi.Str(field["fieldPath"]), facts);
            else if (item["resourceFieldRef"] is JsonObject res)
                value = DownwardApi.Resource(Container(DownwardApi.Str(res["containerName"])), DownwardApi.Str(res["resource"]), res["divisor"], facts);
            else continue;
            files[DownwardApi.Str(item["path"])] = new(Encoding.UTF8.GetBytes(value), (UnixFileMode)Bits(item["mode"], defaultMode));
        }
        return files;
    }

    /// <summary>The payload of a <c>projected</c> volume source (serviceAccountToken sources need a token source).</summary>
    public async Task<Dictionary<string, FileProjection>> ProjectedAsync(JsonObject source, CancellationToken ct)
    {
        var mode = Bits(source["defaultMode"], DefaultMode);
        var files = new Dictionary<string, FileProjection>(StringComparer.Ordinal);
        foreach (var s in (source["sources"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var part = s["configMap"] is JsonObject cm ? await KeyedAsync("configmap", DownwardApi.Str(cm["name"]), cm, mode, ct)
                : s["secret"] is JsonObject sec ? await KeyedAsync("secret", DownwardApi.Str(sec["name"]), sec, mode, ct)
                : s["downwardAPI"] is JsonObject d ? DownwardApiFiles(d, mode)
                : s["serviceAccountToken"] is JsonObject t ? await TokenAsync(t, mode, ct)
                : [];
            foreach (var (k, v) in part) files[k] = v;
        }
        return files;
    }

    async Task<Dictionary<string, FileProjection>> TokenAsync(JsonObject source, int mode, CancellationToken ct)
    {
        if (tokens is null) throw new IOException("this node cannot fetch service-account tokens");
        var seconds = source["expirationSeconds"] is JsonValue v && v.TryGetValue<long>(out var s) ? s : 3600;
        var token = await tokens.TokenAsync(pod, DownwardApi.Str(source["audience"]), seconds, ct);
        return new(StringComparer.Ordinal) { [DownwardApi.Str(source["path"])] = new(Encoding.UTF8.GetBytes(token), (UnixFileMode)mode) };
    }

    async Task<Dictionary<string, FileProjection>> KeyedAsync(string kind, string name, JsonObject source, int defaultMode, CancellationToken ct)
    {
        var optional = source["optional"] is JsonValue o && o.TryGetValue<bool>(out var b) && b;
        var obj = kind == "configmap" ? await objects.ConfigMapAsync(Namespace, name, ct) : await objects.SecretAsync(Namespace, name, ct);
        var files = new Dictionary<string, FileProjection>(StringComparer.Ordinal);
        if (obj is null)
        {
            if (optional) return files;
            throw new IOException($"{kind} \"{name}\" not found");
        }
        var data = Data(kind, obj);
        if (source["items"] is not JsonArray { Count: > 0 } items)
        {
            foreach (var (k, v) in data) files[k] = new(v, (UnixFileMode)defaultMode);
            return files;
        }
        foreach (var item in items.OfType<JsonObject>())
        {
            var key = DownwardApi.Str(item["key"]);
            if (!data.TryGetValue(key, out var bytes))
            {
                if (optional) continue;
                throw new IOException(kind == "configmap" ? $"configmap references non-existent config key: {key}" : $"references non-existent secret key: {key}");
            }
            files[DownwardApi.Str(item["path"])] = new(bytes, (UnixFileMode)Bits(item["mode"], defaultMode));
        }
        return files;
    }

    // ConfigMap data (UTF-8) and binaryData (base64); Secret data (base64).
    static Dictionary<string, byte[]> Data(string kind, JsonObject obj)
    {
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (k, v) in obj["data"] as JsonObject ?? [])
            data[k] = kind == "configmap" ? Encoding.UTF8.GetBytes(DownwardApi.Str(v)) : Convert.FromBase64String(DownwardApi.Str(v));
        if (kind == "configmap")
            foreach (var (k, v) in obj["binaryData"] as JsonObject ?? [])
                data[k] = Convert.FromBase64String(DownwardApi.Str(v));
        return data;
    }

    JsonObject Container(string name)
    {
        foreach (var list in new[] { "containers", "initContainers" })
            foreach (var c in (pod["spec"]?[list] as JsonArray ?? []).OfType<JsonObject>())
                if (name.Length == 0 || DownwardApi.Str(c["name"]) == name) return c;
        throw new IOException($"container {name} not found in the pod");
    }

    /// <summary>A mode field's permission bits (decimal in JSON, e.g. 420 for 0644), else <paramref name="fallback"/>.</summary>
    public static int Bits(JsonNode? value, int fallback) => (value is JsonValue v && v.TryGetValue<int>(out var m) ? m : fallback) & 0x1FF;
}
