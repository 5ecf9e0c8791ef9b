// The CRI mounts of one container: its volumeMounts resolved to host paths, subPath checked to stay in its volume.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>One bind mount for a container (the CRI <c>Mount</c>'s fields).</summary>
/// <param name="ContainerPath">Where the container sees it (<c>mountPath</c>).</param>
/// <param name="HostPath">The volume's directory (or hostPath), joined with the subPath.</param>
/// <param name="ReadOnly">The mount's <c>readOnly</c>; always for configMap, secret, downwardAPI and projected.</param>
/// <param name="Propagation"><c>None</c>, <c>HostToContainer</c> or <c>Bidirectional</c>.</param>
public sealed record VolumeMount(string ContainerPath, string HostPath, bool ReadOnly, string Propagation);

public sealed partial class PodVolumes
{
    /// <summary>
    /// The mounts of <paramref name="container"/> after <see cref="SetUpAsync"/>. <c>subPathExpr</c> is expanded with
    /// <paramref name="env"/> (the container's resolved environment); a missing subPath directory is created with the
    /// volume's mode, as upstream does.
    /// </summary>
    /// <exception cref="ContainerConfigException">An unknown volume, or a subPath that is absolute, climbs out or
    /// resolves outside its volume.</exception>
    public IReadOnlyList<VolumeMount> MountsFor(JsonObject pod, JsonObject container, IReadOnlyList<KeyValuePair<string, string>> env)
    {
        var containerName = DownwardApi.Str(container["name"]);
        var mounts = new List<VolumeMount>();
        foreach (var m in (container["volumeMounts"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = DownwardApi.Str(m["name"]);
            var volume = Volumes(pod).FirstOrDefault(v => DownwardApi.Str(v["name"]) == name)
                ?? throw new ContainerConfigException($"cannot find volume \"{name}\" to mount into container \"{containerName}\"");
            var (plugin, source) = Plugin(volume);
            if (plugin is null) throw new ContainerConfigException($"volume \"{name}\" has a type this node does not support");
            var host = plugin == "host-path" ? DownwardApi.Str(source!["path"]) : VolumeDir(pod, plugin, name);
            var subPath = DownwardApi.Str(m["subPath"]);
            if (subPath.Length == 0 && DownwardApi.Str(m["subPathExpr"]) is { Length: > 0 } expr) subPath = EnvExpansion.Expand(expr, env);
            if (subPath.Length > 0) host = SubPath(host, subPath, name, containerName);
            var readOnly = (m["readOnly"] is JsonValue r && r.TryGetValue<bool>(out var ro) && ro) || plugin is "configmap" or "secret" or "downward-api" or "projected";
            var propagation = DownwardApi.Str(m["mountPropagation"]) is { Length: > 0 } p ? p : "None";
            mounts.Add(new(DownwardApi.Str(m["mountPath"]), host, readOnly, propagation));
        }
        return mounts;
    }

    static string SubPath(string volumePath, string subPath, string volume, string container)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("volumes are Linux-only");
        if (subPath.StartsWith('/')) throw new ContainerConfigException($"error SubPath `{subPath}` must not be an absolute path");
        if (subPath.Split('/').Contains("..")) throw new ContainerConfigException($"unable to provision SubPath `{subPath}`: must not contain '..'");
        var host = Path.Combine(volumePath, subPath);
        if (!Path.Exists(host))
        {
            var mode = File.GetUnixFileMode(volumePath);
            try { Directory.CreateDirectory(host, mode); }
            catch (IOException) { throw new ContainerConfigException($"failed to create subPath directory for volumeMount \"{volume}\" of container \"{container}\""); }
        }
        // A symlink inside the volume may point anywhere on the host: the resolved path must stay in the volume.
        var real = Resolve(host);
        var root = Resolve(volumePath);
        if (real != root && !real.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))
            throw new ContainerConfigException($"failed to prepare subPath for volumeMount \"{volume}\" of container \"{container}\"");
        return host;
    }

    // The path with every symlink resolved (realpath), component by component.
    static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var result = "/";
        var parts = new Queue<string>(full.Split('/', StringSplitOptions.RemoveEmptyEntries));
        for (int hops = 0; parts.Count > 0;)
        {
            var next = Path.Combine(result, parts.Dequeue());
            if (new FileInfo(next).LinkTarget is { } target && ++hops < 40)
            {
                var rest = parts.ToArray();
                var resolved = Path.GetFullPath(target, Path.GetDirectoryName(next)!);
                parts = new Queue<string>(resolved.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest));
                result = "/";
            }
            else result = next;
        }
        return result;
    }
}
