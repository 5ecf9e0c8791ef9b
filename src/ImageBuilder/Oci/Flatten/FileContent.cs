// Where a flattened file's bytes live: a byte range of a layer blob (plain tar) or of the flattener's spool file.
namespace Appliance.ImageBuilder.Oci.Flatten;

/// <summary>A byte range of a file on disk; nothing is held in memory.</summary>
/// <param name="Path">The file (a store blob or a spool file).</param>
/// <param name="Offset">Start of the content.</param>
/// <param name="Length">Length of the content.</param>
public sealed record FileContent(string Path, long Offset, long Length)
{
    /// <summary>Opens the content as a read-only stream.</summary>
    public Stream Open()
    {
        var f = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
        return IO.FileSliceStream.Owning(f, Offset, Length);
    }
}
