// Writes a whole file by temp file + fsync + rename, so readers see the old or the new content, never a mix.
namespace Appliance.ImageBuilder.Store;

/// <summary>Atomic whole-file replacement.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> through a temp file in the same directory.</summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        using var interrupt = IO.InterruptCleanup.Register(tmp);
        try
        {
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                f.Write(bytes);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
                File.Delete(tmp);
        }
    }
}
