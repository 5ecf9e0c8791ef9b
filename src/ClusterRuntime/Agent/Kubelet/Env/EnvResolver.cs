// A container's environment (envFrom, then env) and its command and args with $(VAR) expanded, as the kubelet builds them.
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Env;

/// <summary>The resolved environment in order (a later entry of a name replaces the earlier in place), and warnings.</summary>
/// <param name="Env">Name and value pairs; the pod worker turns them into CRI <c>KeyValue</c>s.</param>
/// <param name="Warnings">Event messages (keys of an envFrom source skipped as invalid names).</param>
public sealed record ContainerEnv(IReadOnlyList<KeyValuePair<string, string>> Env, IReadOnlyList<string> Warnings)
{
    /// <summary>The container's <c>command</c> and <c>args</c> with <c>$(VAR)</c> expanded from <see cref="Env"/>.</summary>
    public (IReadOnlyList<string> Command, IReadOnlyList<string> Args) Expand(JsonObject container) =>
        (Strings(container["command"]).Select(s => EnvExpansion.Expand(s, Env)).ToList(),
         Strings(container["args"]).Select(s => EnvExpansion.Expand(s, Env)).ToList());

    static IEnumerable<string> Strings(JsonNode? n) => (n as JsonArray)?.Select(DownwardApi.Str) ?? [];
}

/// <summary>
/// Builds a container's environment as upstream's <c>makeEnvironmentVariables</c> does: every <c>envFrom</c> source
/// (with its prefix), then every <c>env</c> entry, where <c>value</c> is expanded against the entries before it and
/// <c>valueFrom</c> is read from a ConfigMap, Secret, pod field or container resource. Service links are not added.
/// A missing non-optional object or key throws <see cref="ContainerConfigException"/>.
/// </summary>
public sealed partial class EnvResolver(IPodObjects objects)
{
    /// <summary>Resolves <paramref name="container"/> of <paramref name="pod"/>.</summary>
    public async Task<ContainerEnv> ResolveAsync(JsonObject pod, JsonObject container, PodFacts facts, CancellationToken ct)
    {
        var ns = DownwardApi.Str(pod["metadata"]?["namespace"]) is { Length: > 0 } n ? n : "default";
        var env = new List<KeyValuePair<string, string>>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var warnings = new List<string>();
        var configMaps = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        var secrets = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        void Set(string k, string v)
        {
            if (index.TryGetValue(k, out var i)) env[i] = new(k, v);
            else { index[k] = env.Count; env.Add(new(k, v)); }
        }

        foreach (var from in (container["envFrom"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var prefix = DownwardApi.Str(from["prefix"]);
            var (kind, source) = from["configMapRef"] is JsonObject c ? ("configmap", c) : from["secretRef"] is JsonObject s ? ("secret", s) : (null, null);
            if (kind is null || source is null) continue;
            var name = DownwardApi.Str(source["name"]);
            var obj = await GetAsync(kind, ns, name, kind == "configmap" ? configMaps : secrets, ct);
            if (obj is null)
            {
                if (Optional(source)) continue;
                throw new ContainerConfigException($"{kind} \"{name}\" not found");
            }
            var invalid = new List<string>();
            foreach (var (key, value) in Data(kind, obj))
            {
                var k = prefix + key;
                if (!EnvVarName().IsMatch(k)) { invalid.Add(k); continue; }
                Set(k, value);
            }
            if (invalid.Count > 0)
                warnings.Add($"Keys [{string.Join(", ", invalid.Order(StringComparer.Ordinal))}] from the EnvFrom {(kind == "configmap" ? "configMap" : "secret")} {ns}/{name} were skipped since they are considered invalid environment variable names.");
        }

        foreach (var e in (container["env"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = DownwardApi.Str(e["name"]);
            if (e["valueFrom"] is not JsonObject from)
            {
                var raw = DownwardApi.Str(e["value"]);
                Set(name, raw.Length == 0 ? "" : EnvExpansion.Expand(raw, v => index.TryGetValue(v, out var i) ? env[i].Value : null));
                continue;
            }
            if (from["fieldRef"] is JsonObject field)
                Set(name, DownwardApi.Field(pod, DownwardApi.Str(field["fieldPath"]), facts));
            else if (from["resourceFieldRef"] is JsonObject res)
                Set(name, DownwardApi.Resource(container, DownwardApi.Str(res["resource"]), res["divisor"], facts));
            else if ((from["configMapKeyRef"] ?? from["secretKeyRef"]) is JsonObject keyRef)
            {
                var kind = from["configMapKeyRef"] is not null ? "configmap" : "secret";
                var objName = DownwardApi.Str(keyRef["name"]);
                var key = DownwardApi.Str(keyRef["key"]);
                var obj = await GetAsync(kind, ns, objName, kind == "configmap" ? configMaps : secrets, ct);
                if (obj is null)
                {
                    if (Optional(keyRef)) continue;
                    throw new ContainerConfigException($"{kind} \"{objName}\" not found");
                }
                var value = Data(kind, obj).FirstOrDefault(p => p.Key == key);
                if (value.Key is null)
                {
                    if (Optional(keyRef)) continue;
                    throw new ContainerConfigException($"couldn't find key {key} in {(kind == "configmap" ? "ConfigMap" : "Secret")} {ns}/{objName}");
                }
                Set(name, value.Value);
            }
        }
        return new ContainerEnv(env, warnings);
    }

    async Task<JsonObject?> GetAsync(string kind, string ns, string name, Dictionary<string, JsonObject?> cache, CancellationToken ct)
    {
        if (cache.TryGetValue(name, out var hit)) return hit;
        var obj = kind == "configmap" ? await objects.ConfigMapAsync(ns, name, ct) : await objects.SecretAsync(ns, name, ct);
        cache[name] = obj;
        return obj;
    }

    static bool Optional(JsonObject source) => source["optional"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    // ConfigMap data as strings (binaryData is not offered to env, as upstream); Secret data base64-decoded.
    static IEnumerable<KeyValuePair<string, string>> Data(string kind, JsonObject obj) =>
        (obj["data"] as JsonObject ?? []).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p =>
            new KeyValuePair<string, string>(p.Key, kind == "configmap" ? DownwardApi.Str(p.Value) : Encoding.UTF8.GetString(Convert.FromBase64String(DownwardApi.Str(p.Value)))));

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial Regex EnvVarName();
}
