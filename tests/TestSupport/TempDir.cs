// A fresh temporary directory, deleted with everything in it when the test ends.
namespace Appliance.TestSupport;

/// <summary>
/// A new, uniquely named directory under the system temp directory (<see cref="Directory.CreateTempSubdirectory"/>),
/// removed with its contents on dispose. Read-only entries do not stop the removal.
/// </summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates the directory; its name starts with <paramref name="prefix"/>.</summary>
    public TempDir(string prefix = "appliance-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <summary>The path of <paramref name="relative"/> inside the directory (nothing is created).</summary>
    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    /// <summary>Writes <paramref name="text"/> to <paramref name="relative"/> inside the directory (creating its parents) and returns the file's path.</summary>
    public string Write(string relative, string text)
    {
        var path = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Deletes the directory and everything below it.</summary>
    /// <remarks>
    /// Cleanup never fails a test: what cannot be removed (a mount still in use, say) is left behind. A directory
    /// without write or search permission for its owner is made accessible first, so a test that made a tree
    /// read-only (as a non-root user cannot otherwise delete its entries) still leaves nothing.
    /// </remarks>
    public void Dispose()
    {
        if (TryDelete()) return;
        MakeAccessible(Path);
        TryDelete();
    }

    private bool TryDelete()
    {
        try
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    // Adds u+rwx to every directory of the tree; symbolic links are not followed.
    private static void MakeAccessible(string dir)
    {
        const UnixFileMode Owner = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (OperatingSystem.IsWindows()) return;
        try
        {
            var mode = File.GetUnixFileMode(dir);
            if ((mode & Owner) != Owner) File.SetUnixFileMode(dir, mode | Owner);
            var options = new EnumerationOptions { AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
            foreach (var sub in Directory.EnumerateDirectories(dir, "*", options).ToList())
                MakeAccessible(sub);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
