// Maps namespace/pod/container to its CRI log file: ROOT/<ns>_<pod>_<uid>/<container>/<restart>.log.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Logs;

/// <summary>A log request that cannot be served; <see cref="Status"/> is the HTTP status to answer with.</summary>
public sealed class LogNotFoundException(int status, string message) : Exception(message)
{
    /// <summary>400 or 404.</summary>
    public int Status { get; } = status;
}

/// <summary>A container's log file, and whether that container is still the current, running instance.</summary>
/// <param name="Path">The log file.</param>
/// <param name="StillRunning">False once the instance is gone (a newer restart's file appeared, or the pod's logs were removed).</param>
public sealed record ContainerLogFile(string Path, Func<bool> StillRunning);

/// <summary>
/// Finds log files by the layout the pod worker asks the runtime for (<c>log_directory</c> and <c>log_path</c> in
/// CRI): the pod's directory by its name prefix (names cannot hold <c>_</c>; the newest directory wins when a pod was
/// recreated under a new UID), the instance by the highest restart number, the previous one by the next lower.
/// </summary>
public sealed partial class PodLogLocator(string root)
{
    /// <summary>The default root, as upstream's kubelet.</summary>
    public const string DefaultRoot = "/var/log/pods";

    /// <summary>The directory holding one directory per pod.</summary>
    public string Root { get; } = root;

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    private static partial Regex Dns1123();

    /// <summary>The file to read; throws <see cref="LogNotFoundException"/> when there is none.</summary>
    public ContainerLogFile Find(string ns, string pod, string container, bool previous)
    {
        foreach (var (what, value) in new[] { ("namespace", ns), ("pod", pod), ("container", container) })
            if (value.Length > 253 || !Dns1123().IsMatch(value)) throw new LogNotFoundException(400, $"invalid {what} name \"{value}\"");
        var podDir = Directory.Exists(Root)
            ? new DirectoryInfo(Root).EnumerateDirectories($"{ns}_{pod}_*").OrderByDescending(d => d.LastWriteTimeUtc).FirstOrDefault()
            : null;
        if (podDir is null) throw new LogNotFoundException(404, $"pod \"{ns}/{pod}\" not found");
        var dir = Path.Combine(podDir.FullName, container);
        var restarts = Directory.Exists(dir) ? Restarts(dir) : [];
        if (restarts.Count == 0) throw new LogNotFoundException(400, $"container \"{container}\" in pod \"{pod}\" is waiting to start: no log file yet");
        var current = restarts[^1];
        if (previous)
        {
            if (restarts.Count < 2) throw new LogNotFoundException(400, $"previous terminated container \"{container}\" in pod \"{pod}\" not found");
            return new ContainerLogFile(FileOf(dir, restarts[^2]), () => false);
        }
        return new ContainerLogFile(FileOf(dir, current), () => Directory.Exists(dir) && Restarts(dir) is [.., var last] && last == current);
    }

    static string FileOf(string dir, int restart) => Path.Combine(dir, restart.ToString(CultureInfo.InvariantCulture) + ".log");

    /// <summary>The restart numbers that have a log file, ascending (rotated files such as <c>0.log.2026…</c> are not counted).</summary>
    static List<int> Restarts(string dir)
    {
        var list = new List<int>();
        foreach (var f in Directory.EnumerateFiles(dir, "*.log"))
            if (int.TryParse(Path.GetFileNameWithoutExtension(f), NumberStyles.None, CultureInfo.InvariantCulture, out var n)) list.Add(n);
        list.Sort();
        return list;
    }
}
