// The boot partition as first boot edits it: the raw device, with rc.boot's read-only mount lifted around writes.
using Appliance.Firstboot.Disks;
using Appliance.Firstboot.Fat;

namespace Appliance.Firstboot.Steps;

/// <summary>
/// The FAT32 boot partition on its block device. Edits go through <see cref="FatEditor"/> on the device itself; when
/// rc.boot has it mounted (read-only), it is unmounted first and mounted again afterwards, so the kernel's cache
/// never holds stale copies of what was changed underneath it.
/// </summary>
public sealed class BootPartition(string device, Action<string> log) : IBootFiles
{
    /// <summary>The partition's device.</summary>
    public string Device => device;

    /// <inheritdoc/>
    public string Where => device;

    /// <inheritdoc/>
    public byte[] ReadFile(string path)
    {
        using var fat = FatEditor.Open(device, writable: false);
        return fat.ReadFile(path);
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> List(string path) => Read(fat => fat.List(path));

    /// <summary>Reads, through <paramref name="read"/>, with the volume open read-only.</summary>
    public T Read<T>(Func<FatEditor, T> read)
    {
        using var fat = FatEditor.Open(device, writable: false);
        return read(fat);
    }

    /// <summary>Runs <paramref name="edit"/> on the volume opened for writing, unmounting it around the edit when mounted.</summary>
    public void Edit(Action<FatEditor> edit)
    {
        var number = BlockDevices.DeviceNumber(device);
        var mountedAt = number is null ? null : Mounts.MountPointOf(number);
        if (mountedAt is not null)
        {
            log($"boot: unmounting {mountedAt} to edit {device}");
            Mounts.Unmount(mountedAt);
        }
        try
        {
            using var fat = FatEditor.Open(device, writable: true);
            edit(fat);
        }
        finally
        {
            if (mountedAt is not null) Mounts.Mount(device, mountedAt, "vfat", "ro");
        }
    }
}
