// Upstream's ServiceAccount admission plugin: defaults a new pod's service account and adds the kube-api-access volume.
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.ServiceAccounts;

/// <summary>
/// On pod create: <c>spec.serviceAccountName</c> defaults to <c>default</c> (from the deprecated
/// <c>spec.serviceAccount</c> when only that is set, and mirrored back into it); the ServiceAccount must exist (403
/// <c>error looking up service account NS/NAME: serviceaccount "NAME" not found</c>; the <c>default</c> one is
/// looked up ten times 100-200 ms apart, as upstream does, since its controller may not have made it yet); unless the pod or
/// the ServiceAccount says <c>automountServiceAccountToken: false</c>, a projected <c>kube-api-access-XXXXX</c> volume
/// (token, <c>kube-root-ca.crt</c>'s ca.crt, namespace) is added and mounted read-only at
/// <see cref="MountPath"/> in every container and init container that has nothing mounted there. Mirror pods are left alone.
/// </summary>
public static class ServiceAccountAdmission
{
    /// <summary>Where the token, ca.crt and namespace files appear in containers.</summary>
    public const string MountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>The ConfigMap every namespace gets with the cluster CA (see <c>Controllers/ServiceAccounts</c>).</summary>
    public const string RootCaConfigMap = "kube-root-ca.crt";

    /// <summary>The kubelet's token lifetime for the projected volume (upstream: an hour plus seven seconds, which marks it as the default).</summary>
    public const long TokenExpirationSeconds = 3607;

    const string MirrorAnnotation = "kubernetes.io/config.mirror";
    const string VolumePrefix = "kube-api-access-";
    // Upstream's utilrand alphabet: no vowels, no look-alikes.
    const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";

    static readonly ApiResource ServiceAccounts = ResourceTable.Find("", "v1", "serviceaccounts")!;

    /// <summary>Admits <paramref name="pod"/> (being created in <paramref name="store"/>), changing it in place.</summary>
    /// <exception cref="ApiException">403 when its ServiceAccount does not exist.</exception>
    public static async Task AdmitAsync(ObjectStore store, JsonObject pod, CancellationToken ct)
    {
        if (Meta.Of(pod)["annotations"]?[MirrorAnnotation] is not null) return;
        var spec = pod["spec"] as JsonObject ?? throw new ApiException(422, "Invalid", "Pod is invalid: spec: Required value");
        var ns = Meta.Namespace(pod)!;
        var name = Text(spec["serviceAccountName"]) is { Length: > 0 } n ? n : Text(spec["serviceAccount"]) is { Length: > 0 } old ? old : "default";
        spec["serviceAccountName"] = name;
        spec["serviceAccount"] = name;
        var sa = await LookUpAsync(store, ns, name, ct)
            ?? throw new ApiException(403, "Forbidden",
                $"pods \"{Meta.Name(pod)}\" is forbidden: error looking up service account {ns}/{name}: serviceaccount \"{name}\" not found",
                new JsonObject { ["name"] = Meta.Name(pod), ["kind"] = "pods" });
        if (Bool(spec["automountServiceAccountToken"]) ?? Bool(sa["automountServiceAccountToken"]) ?? true) AddTokenVolume(spec);
    }

    static async Task<JsonObject?> LookUpAsync(ObjectStore store, string ns, string name, CancellationToken ct)
    {
        int attempts = name == "default" ? 10 : 1;
        for (int i = 0; ; i++)
        {
            var (_, sa) = await store.TryGetAsync(ServiceAccounts, ns, name, ct);
            if (sa is not null || i + 1 >= attempts) return sa;
            await Task.Delay(TimeSpan.FromMilliseconds(100 + RandomNumberGenerator.GetInt32(100)), ct);
        }
    }

    static void AddTokenVolume(JsonObject spec)
    {
        var containers = new[] { "initContainers", "containers" }.SelectMany(list => (spec[list] as JsonArray ?? []).OfType<JsonObject>())
            .Where(c => !(c["volumeMounts"] as JsonArray ?? []).OfType<JsonObject>().Any(m => Text(m["mountPath"]) == MountPath)).ToList();
        if (containers.Count == 0) return;
        var volumes = spec["volumes"] as JsonArray ?? (JsonArray)(spec["volumes"] = new JsonArray());
        var taken = volumes.OfType<JsonObject>().Select(v => Text(v["name"])).ToHashSet();
        string volumeName;
        do volumeName = VolumePrefix + RandomNumberGenerator.GetString(Alphabet, 5);
        while (taken.Contains(volumeName));
        volumes.Add((JsonNode)new JsonObject
        {
            ["name"] = volumeName,
            ["projected"] = new JsonObject
            {
                ["sources"] = new JsonArray(
                    new JsonObject { ["serviceAccountToken"] = new JsonObject { ["expirationSeconds"] = TokenExpirationSeconds, ["path"] = "token" } },
                    new JsonObject
                    {
                        ["configMap"] = new JsonObject
                        {
                            ["name"] = RootCaConfigMap,
                            ["items"] = new JsonArray(new JsonObject { ["key"] = "ca.crt", ["path"] = "ca.crt" }),
                        },
                    },
                    new JsonObject
                    {
                        ["downwardAPI"] = new JsonObject
                        {
                            ["items"] = new JsonArray(new JsonObject
                            {
                                ["path"] = "namespace",
                                ["fieldRef"] = new JsonObject { ["apiVersion"] = "v1", ["fieldPath"] = "metadata.namespace" },
                            }),
                        },
                    }),
                ["defaultMode"] = 420,
            },
        });
        foreach (var c in containers)
        {
            var mounts = c["volumeMounts"] as JsonArray ?? (JsonArray)(c["volumeMounts"] = new JsonArray());
            mounts.Add((JsonNode)new JsonObject { ["name"] = volumeName, ["readOnly"] = true, ["mountPath"] = MountPath });
        }
    }

    static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    static bool? Bool(JsonNode? node) => node is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
}
