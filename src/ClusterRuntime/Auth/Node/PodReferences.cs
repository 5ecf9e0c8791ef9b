// The objects a pod uses by name: the graph the node authorizer allows a node to read.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Auth.Node;

/// <summary>
/// What upstream's node graph links to a pod: Secrets (secret and projected volumes, <c>env[].valueFrom.secretKeyRef</c>,
/// <c>envFrom[].secretRef</c>, <c>imagePullSecrets</c>), ConfigMaps (configMap and projected volumes, configMapKeyRef,
/// configMapRef), PersistentVolumeClaims (persistentVolumeClaim volumes, and the <c>POD-VOLUME</c> claims of ephemeral
/// volumes) and the pod's ServiceAccount, all in the pod's namespace.
/// </summary>
public static class PodReferences
{
    /// <summary>True when <paramref name="pod"/> uses the object of <paramref name="resource"/> (secrets, configmaps, persistentvolumeclaims, serviceaccounts) named <paramref name="name"/>.</summary>
    public static bool Uses(JsonObject pod, string resource, string name) => resource switch
    {
        "secrets" => Secrets(pod).Contains(name),
        "configmaps" => ConfigMaps(pod).Contains(name),
        "persistentvolumeclaims" => Claims(pod).Contains(name),
        "serviceaccounts" => ServiceAccount(pod) == name,
        _ => false,
    };

    /// <summary>The pod's ServiceAccount (<c>default</c> when unset).</summary>
    public static string ServiceAccount(JsonObject pod) => Obj.Str(pod, "spec", "serviceAccountName") is { Length: > 0 } sa ? sa : "default";

    /// <summary>Names of the Secrets the pod uses.</summary>
    public static HashSet<string> Secrets(JsonObject pod)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in Obj.Items(pod, "spec", "imagePullSecrets")) Add(names, Obj.Str(s, "name"));
        foreach (var v in Obj.Items(pod, "spec", "volumes"))
        {
            Add(names, Obj.Str(v, "secret", "secretName"));
            foreach (var source in Obj.Items(v, "projected", "sources")) Add(names, Obj.Str(source, "secret", "name"));
            // Volume plugins that name a secret for credentials (cephfs, rbd, iscsi, azureFile, flexVolume, csi, ...).
            foreach (var (_, plugin) in v)
                if (plugin is JsonObject p)
                {
                    Add(names, Obj.Str(p, "secretRef", "name"));
                    Add(names, Obj.Str(p, "nodePublishSecretRef", "name"));
                }
        }
        foreach (var c in Containers(pod))
        {
            foreach (var e in Obj.Items(c, "env")) Add(names, Obj.Str(e, "valueFrom", "secretKeyRef", "name"));
            foreach (var e in Obj.Items(c, "envFrom")) Add(names, Obj.Str(e, "secretRef", "name"));
        }
        return names;
    }

    /// <summary>Names of the ConfigMaps the pod uses.</summary>
    public static HashSet<string> ConfigMaps(JsonObject pod)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in Obj.Items(pod, "spec", "volumes"))
        {
            Add(names, Obj.Str(v, "configMap", "name"));
            foreach (var source in Obj.Items(v, "projected", "sources")) Add(names, Obj.Str(source, "configMap", "name"));
        }
        foreach (var c in Containers(pod))
        {
            foreach (var e in Obj.Items(c, "env")) Add(names, Obj.Str(e, "valueFrom", "configMapKeyRef", "name"));
            foreach (var e in Obj.Items(c, "envFrom")) Add(names, Obj.Str(e, "configMapRef", "name"));
        }
        return names;
    }

    /// <summary>Names of the PersistentVolumeClaims the pod uses.</summary>
    public static HashSet<string> Claims(JsonObject pod)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var podName = Api.Storage.Meta.Name(pod) ?? "";
        foreach (var v in Obj.Items(pod, "spec", "volumes"))
        {
            Add(names, Obj.Str(v, "persistentVolumeClaim", "claimName"));
            if (v["ephemeral"] is JsonObject) Add(names, $"{podName}-{Obj.Str(v, "name")}");
        }
        return names;
    }

    static IEnumerable<JsonObject> Containers(JsonObject pod) =>
        Obj.Items(pod, "spec", "initContainers").Concat(Obj.Items(pod, "spec", "containers")).Concat(Obj.Items(pod, "spec", "ephemeralContainers"));

    static void Add(HashSet<string> names, string? name)
    {
        if (!string.IsNullOrEmpty(name)) names.Add(name);
    }
}
