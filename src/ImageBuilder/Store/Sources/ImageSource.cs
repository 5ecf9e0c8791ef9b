// Read access to the files of an image source (a layout directory or a tar), by relative path.
namespace Appliance.ImageBuilder.Store.Sources;

/// <summary>The files of an OCI layout or docker-save archive, wherever they are stored.</summary>
public abstract class ImageSource : IDisposable
{
    /// <summary>The path the user gave, used in every message.</summary>
    public abstract string DisplayName { get; }

    /// <summary>True when the source holds a regular file at <paramref name="path"/>.</summary>
    public abstract bool Exists(string path);

    /// <summary>Length of the file at <paramref name="path"/>.</summary>
    public abstract long Length(string path);

    /// <summary>Opens the file at <paramref name="path"/> for sequential reading.</summary>
    public abstract Stream Open(string path);

    /// <summary>Reads a whole small file (a JSON document), capped at <paramref name="limit"/> bytes.</summary>
    public byte[] ReadAll(string path, int limit)
    {
        if (!Exists(path))
            throw new InvalidDataException($"{DisplayName}: entry '{path}' is missing");
        var len = Length(path);
        if (len > limit)
            throw new InvalidDataException($"{DisplayName}: entry '{path}' is {len} bytes, more than the {limit}-byte limit for a JSON document");
        using var s = Open(path);
        var buf = new byte[len];
        s.ReadExactly(buf);
        return buf;
    }

    /// <summary>Opens a directory or a tar file.</summary>
    public static ImageSource Open(string path, string displayName)
    {
        if (Directory.Exists(path))
            return new DirectorySource(path, displayName);
        if (File.Exists(path))
            return TarSource.OpenFile(path, displayName);
        throw new FileNotFoundException($"{displayName}: no such file or directory");
    }

    /// <inheritdoc />
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
