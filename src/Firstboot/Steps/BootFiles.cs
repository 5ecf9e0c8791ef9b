// The boot partition's files as the steps read them: on the disk's FAT, or, booted from the ISO, a directory of the medium.
namespace Appliance.Firstboot.Steps;

/// <summary>Read access to the boot partition's files (<c>appliance/site.yaml</c>, <c>appliance/manifests/</c>).</summary>
public interface IBootFiles
{
    /// <summary>Where the files are, for messages (a device or a directory).</summary>
    string Where { get; }

    /// <summary>The content of the file at <paramref name="path"/> (slash-separated, relative to the partition's root).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    byte[] ReadFile(string path);

    /// <summary>The names in directory <paramref name="path"/>; empty when it does not exist.</summary>
    IReadOnlyList<string> List(string path);
}

/// <summary>
/// The raw image's boot-partition files as the ISO carries them (<c>appliance/boot/</c> of the medium, which the
/// initramfs mounts read-only): live mode reads site.yaml and the manifests here and never writes.
/// </summary>
public sealed class MediumBootFiles(string directory) : IBootFiles
{
    /// <inheritdoc/>
    public string Where => directory;

    /// <inheritdoc/>
    public byte[] ReadFile(string path)
    {
        var file = Path.Combine(directory, path);
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: not found on the medium", file);
        return File.ReadAllBytes(file);
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> List(string path)
    {
        var dir = Path.Combine(directory, path);
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList() : [];
    }
}
