// Writes secrets atomically (temp file + rename) with mode 0600.
namespace Appliance.ClusterRuntime.Pki;

/// <summary>Atomic, owner-only file writes for keys, tokens and kubeconfigs.</summary>
public static class SecureFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> with mode 0600, via a temp file and rename.</summary>
    public static void WriteAllText(string path, string content)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(tmp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>
    /// Sets an existing file that others may read or write back to 0600. Returns its old mode when it had to be
    /// changed, and null when it was already owner-only or does not exist.
    /// </summary>
    public static UnixFileMode? Tighten(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path)) return null;
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var mode = File.GetUnixFileMode(path);
        if ((mode & ~owner) == 0) return null;
        File.SetUnixFileMode(path, owner);
        return mode;
    }
}
