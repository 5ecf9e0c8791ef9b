// A volume directory whose files change all at once: the kubelet's AtomicWriter (timestamped dir, ..data symlink swap).
using System.Runtime.InteropServices;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>One file of a projected payload: its bytes and its mode.</summary>
public sealed record FileProjection(byte[] Data, UnixFileMode Mode);

/// <summary>
/// Writes a whole payload (relative path → file) into <see cref="Target"/> so that a reader sees the old set or the new
/// set, never a mix: the files go into a fresh <c>..YYYY_MM_DD_HH_MM_SS.random</c> directory, a <c>..data_tmp</c>
/// symlink to it is renamed over <c>..data</c> (rename(2) is atomic), and each top-level name is a symlink into
/// <c>..data</c>. The old directory is removed after the swap; top-level names no longer in the payload go last.
/// </summary>
public sealed class AtomicWriter(string target)
{
    const string DataLink = "..data", DataLinkTmp = "..data_tmp";

    /// <summary>The volume directory.</summary>
    public string Target { get; } = target;

    /// <summary>Writes <paramref name="payload"/>; false (and nothing touched) when the directory already holds it.</summary>
    /// <exception cref="ArgumentException">A path is absolute, empty, or climbs with <c>..</c>.</exception>
    public bool Write(IReadOnlyDictionary<string, FileProjection> payload)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("volumes are Linux-only");
        foreach (var path in payload.Keys) Validate(path);
        Directory.CreateDirectory(Target);
        var dataLink = Path.Combine(Target, DataLink);
        var oldDir = new FileInfo(dataLink).LinkTarget is { } old ? Path.Combine(Target, old) : null;
        if (oldDir is not null && Directory.Exists(oldDir) && Holds(oldDir, payload)) return false;

        var name = "." + "." + DateTime.UtcNow.ToString("yyyy_MM_dd_HH_mm_ss.", System.Globalization.CultureInfo.InvariantCulture) + Path.GetRandomFileName().Replace(".", "");
        var newDir = Path.Combine(Target, name);
        Directory.CreateDirectory(newDir, DirMode);
        try
        {
            foreach (var (path, file) in payload)
            {
                var full = Path.Combine(newDir, path);
                Directory.CreateDirectory(Path.GetDirectoryName(full)!, DirMode);
                using (var s = new FileStream(full, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                    s.Write(file.Data);
                File.SetUnixFileMode(full, file.Mode);
            }
        }
        catch
        {
            Directory.Delete(newDir, recursive: true); // ..data still names the old, complete set
            throw;
        }

        var tmpLink = Path.Combine(Target, DataLinkTmp);
        if (File.Exists(tmpLink) || new FileInfo(tmpLink).LinkTarget is not null) File.Delete(tmpLink);
        File.CreateSymbolicLink(tmpLink, name);
        // rename(2) directly: File.Move refuses a source that is a link to a directory.
        if (rename(tmpLink, dataLink) != 0) throw new IOException($"rename {tmpLink} to {dataLink}: {Marshal.GetLastPInvokeErrorMessage()}");

        var wanted = payload.Keys.Select(p => p.Split('/')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var top in wanted)
        {
            var link = Path.Combine(Target, top);
            if (new FileInfo(link).LinkTarget is null && !Path.Exists(link)) File.CreateSymbolicLink(link, Path.Combine(DataLink, top));
        }
        if (oldDir is not null && Directory.Exists(oldDir)) Directory.Delete(oldDir, recursive: true);
        foreach (var entry in new DirectoryInfo(Target).EnumerateFileSystemInfos())
            if (!entry.Name.StartsWith("..", StringComparison.Ordinal) && !wanted.Contains(entry.Name) && entry.LinkTarget is { } t && t.StartsWith(DataLink + "/", StringComparison.Ordinal))
                entry.Delete();
        return true;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int rename(string from, string to);

    const UnixFileMode DirMode = (UnixFileMode)0b111_101_101;

    static void Validate(string path)
    {
        if (path.Length == 0 || path.StartsWith('/') || path.StartsWith("..", StringComparison.Ordinal) || path.Split('/').Any(p => p is ".." or ""))
            throw new ArgumentException($"invalid path \"{path}\": must be relative, without '..' and not start with '..'");
    }

    // True when dir holds exactly the payload: the same names, bytes and modes.
    static bool Holds(string dir, IReadOnlyDictionary<string, FileProjection> payload)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("volumes are Linux-only");
        var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToList();
        if (files.Count != payload.Count) return false;
        foreach (var full in files)
        {
            var rel = Path.GetRelativePath(dir, full);
            if (!payload.TryGetValue(rel, out var want)) return false;
            if (File.GetUnixFileMode(full) != want.Mode || !File.ReadAllBytes(full).AsSpan().SequenceEqual(want.Data)) return false;
        }
        return true;
    }
}
