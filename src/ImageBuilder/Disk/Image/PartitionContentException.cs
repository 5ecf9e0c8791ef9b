// The content of one partition could not be written (a full file system, a name it cannot store, ...).
namespace Appliance.ImageBuilder.Disk.Image;

/// <summary>
/// Content that cannot go into its partition (an IOException, since <see cref="InvalidDataException"/> is sealed), with the writer's own reason as <see cref="Exception.InnerException"/>
/// (for example "FAT: /a/x and the entry 'X' beside it differ only in case"), so a caller can say which partition and why.
/// </summary>
public sealed class PartitionContentException(string partition, long capacity, InvalidDataException reason)
    : IOException($"partition '{partition}' ({capacity} bytes): {reason.Message}", reason)
{
    /// <summary>The partition's name.</summary>
    public string Partition => partition;

    /// <summary>The partition's size in bytes.</summary>
    public long Capacity => capacity;

    /// <summary>The writer's reason.</summary>
    public string Reason => reason.Message;
}
