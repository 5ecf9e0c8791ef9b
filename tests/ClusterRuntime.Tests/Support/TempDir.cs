// A temporary directory removed on dispose.
namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>A fresh directory under /tmp, deleted with its contents on dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates the directory.</summary>
    public TempDir(string prefix = "runtime-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
