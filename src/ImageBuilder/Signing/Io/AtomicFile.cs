// Writes a file through a temporary sibling and a rename, so readers never see half of it.
namespace Appliance.ImageBuilder.Signing.Io;

/// <summary>Whole-file writes that either complete or leave the target untouched.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> via a temporary file in the same directory.
    /// With <paramref name="mode"/> the temporary file gets those Unix permissions before any byte is written.
    /// When <paramref name="overwrite"/> is false and the target exists, an <see cref="IOException"/> is thrown
    /// and nothing is written.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes, bool overwrite = true, UnixFileMode? mode = null)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"{dir}: directory does not exist (writing {Path.GetFileName(full)})");
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        using var interrupt = IO.InterruptCleanup.Register(tmp);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (mode is { } m && !OperatingSystem.IsWindows())
                options.UnixCreateMode = m;
            using (var fs = new FileStream(tmp, options))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            if (overwrite)
                File.Move(tmp, full, overwrite: true);
            else
                MoveNoReplace(tmp, full);
        }
        finally
        {
            if (File.Exists(tmp))
                File.Delete(tmp);
        }
    }

    // File.Move without overwrite refuses an existing target, so a racing writer cannot be clobbered.
    private static void MoveNoReplace(string tmp, string target)
    {
        if (File.Exists(target))
            throw new IOException($"{target}: already exists; refusing to overwrite it");
        File.Move(tmp, target, overwrite: false);
    }
}
