// First-boot step 1, the file system: ext4 labelled data on the data partition, mounted at DATA.
using System.Buffers.Binary;
using Appliance.Common;

namespace Appliance.Firstboot.Disks;

/// <summary>
/// Makes the data partition's file system and mounts it. A file system counts as made only once the first-boot
/// journal exists on it (written right after this step), so a cut during or after mkfs, before the journal, makes it
/// again: nothing else is written to it before then.
/// </summary>
public static class DataFilesystem
{
    /// <summary>The ext4 volume label.</summary>
    public const string Label = "data";

    private const int SuperblockOffset = 1024, MagicOffset = 56, LabelOffset = 120, Ext4Magic = 0xEF53;

    /// <summary>Whether <paramref name="device"/> starts with an ext2/3/4 superblock labelled <see cref="Label"/>.</summary>
    public static bool HasDataFilesystem(string device)
    {
        var b = new byte[1024];
        using var f = new FileStream(device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        f.Position = SuperblockOffset;
        if (f.Read(b) < 1024) return false;
        if (BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(MagicOffset)) != Ext4Magic) return false;
        var label = System.Text.Encoding.ASCII.GetString(b, LabelOffset, 16).TrimEnd('\0');
        return label == Label;
    }

    /// <summary>
    /// Mounts the data file system at <paramref name="mountPoint"/>, making it first when it has no journal yet
    /// (<paramref name="isInitialised"/> tells, once mounted). The UUID is derived from <paramref name="identity"/>,
    /// so every run makes the same file system identity.
    /// </summary>
    public static bool EnsureMounted(string device, string mountPoint, byte[] identity, Func<string, bool> isInitialised, Action<string>? stopPoint = null)
    {
        var number = BlockDevices.DeviceNumber(device);
        if (number is not null && Mounts.DeviceAt(mountPoint) == number)
        {
            if (isInitialised(mountPoint)) return false;
            Mounts.Unmount(mountPoint);
        }
        else if (HasDataFilesystem(device))
        {
            try
            {
                Mounts.Mount(device, mountPoint, "ext4", "noatime");
                if (isInitialised(mountPoint)) return false;
                Mounts.Unmount(mountPoint);
            }
            catch (IOException) when (!Mounts.IsMountPoint(mountPoint)) { }
        }
        var uuid = DerivedGuid.Create(identity, "data-filesystem").ToString();
        Tools.Run("mkfs.ext4", ["-F", "-q", "-L", Label, "-U", uuid, "-m", "1", device]);
        stopPoint?.Invoke("partition:mkfs-done");
        Mounts.Mount(device, mountPoint, "ext4", "noatime");
        return true;
    }
}
