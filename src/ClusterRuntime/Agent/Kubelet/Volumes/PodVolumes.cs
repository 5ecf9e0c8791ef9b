// A pod's volumes on this node: set up under <pods dir>/<uid>/volumes, kept in step, torn down.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Kubelet.Env;
using Appliance.ClusterRuntime.Api;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>
/// Materializes the volumes of pods under <c>{podsDir}/{uid}/volumes/{plugin}/{name}</c> (plugin names as the
/// kubelet's: <c>kubernetes.io~empty-dir</c>, <c>~configmap</c>, <c>~secret</c>, <c>~downward-api</c>,
/// <c>~projected</c>; hostPath is used in place). The pod worker calls <see cref="SetUpAsync"/> before the sandbox,
/// <see cref="MountsFor"/> per container, <see cref="SyncAsync"/> on each resync and <see cref="TearDown"/> when the pod
/// is gone.
/// </summary>
/// <param name="podsDir">Holds one directory per pod UID (upstream's <c>/var/lib/kubelet/pods</c>).</param>
/// <param name="objects">Where ConfigMaps and Secrets are read.</param>
/// <param name="tokens">Where projected service-account tokens come from (none: such a volume fails to set up).</param>
public sealed partial class PodVolumes(string podsDir, IPodObjects objects, IServiceAccountTokens? tokens = null)
{
    /// <summary>The pod's directory, <c>{podsDir}/{uid}</c>.</summary>
    public string PodDir(string uid) => Path.Combine(podsDir, uid);

    /// <summary>
    /// Sets up every volume of <paramref name="pod"/>: emptyDir directories (tmpfs for <c>medium: Memory</c>), hostPath
    /// type checks, and the files of configMap, secret, downwardAPI and projected volumes. Idempotent.
    /// </summary>
    /// <exception cref="VolumeSetupException">A volume cannot be set up (upstream's FailedMount text).</exception>
    public Task SetUpAsync(JsonObject pod, PodFacts facts, CancellationToken ct) => ApplyAsync(pod, facts, projectedOnly: false, ct);

    /// <summary>
    /// Rewrites the configMap, secret, downwardAPI and projected volumes whose content changed (each all at once, see
    /// <see cref="AtomicWriter"/>); returns the names of the volumes rewritten.
    /// </summary>
    /// <exception cref="VolumeSetupException">A source disappeared or lost a key (the old files stay).</exception>
    public async Task<IReadOnlyList<string>> SyncAsync(JsonObject pod, PodFacts facts, CancellationToken ct) =>
        await ApplyAsync(pod, facts, projectedOnly: true, ct);

    async Task<IReadOnlyList<string>> ApplyAsync(JsonObject pod, PodFacts facts, bool projectedOnly, CancellationToken ct)
    {
        var projections = new Projections(objects, pod, facts, tokens);
        var changed = new List<string>();
        foreach (var volume in Volumes(pod))
        {
            var name = DownwardApi.Str(volume["name"]);
            var (plugin, source) = Plugin(volume);
            try
            {
                Dictionary<string, FileProjection>? payload = plugin switch
                {
                    "configmap" => await projections.ConfigMapAsync(source!, ct),
                    "secret" => await projections.SecretAsync(source!, ct),
                    "downward-api" => projections.DownwardApiFiles(source!, Projections.Bits(source!["defaultMode"], Projections.DefaultMode)),
                    "projected" => await projections.ProjectedAsync(source!, ct),
                    _ => null,
                };
                if (payload is not null)
                {
                    if (new AtomicWriter(VolumeDir(pod, plugin!, name)).Write(payload)) changed.Add(name);
                }
                else if (!projectedOnly && plugin == "empty-dir") EmptyDir(VolumeDir(pod, plugin, name), source!);
                else if (!projectedOnly && plugin == "host-path") HostPathCheck.Check(DownwardApi.Str(source!["path"]), DownwardApi.Str(source["type"]));
                else if (!projectedOnly && plugin is null) throw new IOException("this node supports emptyDir, configMap, secret, downwardAPI, projected and hostPath volumes only");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ContainerConfigException or FormatException or ArgumentException)
            {
                throw new VolumeSetupException(name, e.Message, e);
            }
        }
        return changed;
    }

    static void EmptyDir(string dir, JsonObject source)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("volumes are Linux-only");
        Directory.CreateDirectory(dir);
        if (DownwardApi.Str(source["medium"]) == "Memory" && !Tmpfs.IsMountPoint(dir))
            Tmpfs.Mount(dir, source["sizeLimit"] is { } limit ? Quantity.Value(limit) : null);
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_111);
    }

    /// <summary>
    /// Unmounts what is mounted under the pod's directory (tmpfs emptyDirs), deepest first, then deletes the directory.
    /// A mount that will not go leaves the directory in place (never a recursive delete through a mount).
    /// </summary>
    /// <exception cref="IOException">A mount could not be unmounted.</exception>
    public void TearDown(string uid)
    {
        tokens?.Forget(uid);
        var dir = PodDir(uid);
        if (!Directory.Exists(dir)) return;
        foreach (var mount in Tmpfs.MountsUnder(dir)) Tmpfs.Unmount(mount);
        if (Tmpfs.MountsUnder(dir).Count > 0) throw new IOException($"{dir}: still has mounts after unmounting; not deleting it");
        Directory.Delete(dir, recursive: true);
    }

    internal static IEnumerable<JsonObject> Volumes(JsonObject pod) => (pod["spec"]?["volumes"] as JsonArray ?? []).OfType<JsonObject>();

    /// <summary>The plugin folder name (without <c>kubernetes.io~</c>) and source object of a volume; null when unsupported.</summary>
    internal static (string? Plugin, JsonObject? Source) Plugin(JsonObject volume) =>
        volume["emptyDir"] is JsonObject e ? ("empty-dir", e)
        : volume["configMap"] is JsonObject c ? ("configmap", c)
        : volume["secret"] is JsonObject s ? ("secret", s)
        : volume["downwardAPI"] is JsonObject d ? ("downward-api", d)
        : volume["projected"] is JsonObject p ? ("projected", p)
        : volume["hostPath"] is JsonObject h ? ("host-path", h)
        : (null, null);

    internal string VolumeDir(JsonObject pod, string plugin, string name)
    {
        var uid = DownwardApi.Str(pod["metadata"]?["uid"]);
        if (uid.Length == 0 || uid.Contains('/') || uid.StartsWith('.')) throw new ArgumentException($"pod metadata.uid \"{uid}\" cannot name a directory");
        return Path.Combine(PodDir(uid), "volumes", "kubernetes.io~" + plugin, name);
    }
}
