// The installer's choice of disk: target.installDisk, else the one whole disk that is neither removable nor the medium.
using System.Globalization;
using Appliance.Firstboot.Disks;

namespace Appliance.Firstboot.Install;

/// <summary>A whole disk the installer may write.</summary>
/// <param name="Name">The kernel name (<c>vda</c>, <c>sda</c>, <c>nvme0n1</c>).</param>
/// <param name="SizeBytes">Its size.</param>
public sealed record DiskCandidate(string Name, long SizeBytes)
{
    /// <summary>Its device node.</summary>
    public string Device => "/dev/" + Name;

    /// <summary>"/dev/vda (8 GiB)".</summary>
    public override string ToString() => $"{Device} ({BlockDevices.SizeText(SizeBytes)})";
}

/// <summary>The installer will not write: the message says why and what to do; nothing was written.</summary>
public sealed class InstallRefusedException(string message) : Exception(message);

/// <summary>
/// Chooses the disk to install to. <c>target.installDisk</c> names it (any block device path, symlinks such as
/// <c>/dev/disk/by-id/…</c> resolved); otherwise the disks of <c>/sys/block</c> are the candidates, less loop, ram,
/// sr and zram devices, removable ones (<c>removable</c> = 1), empty ones (size 0) and the medium's own disk. Exactly
/// one candidate is taken; none or several are refused with the list and their sizes.
/// </summary>
public static class TargetDisk
{
    private static readonly string[] NotDisks = ["loop", "ram", "sr", "zram"];

    /// <summary>The candidates below <paramref name="sysBlock"/>, in name order, leaving out <paramref name="mediumDisk"/> (a kernel name).</summary>
    public static IReadOnlyList<DiskCandidate> Candidates(string sysBlock, string? mediumDisk)
    {
        if (!Directory.Exists(sysBlock)) return [];
        var list = new List<DiskCandidate>();
        foreach (var dir in Directory.EnumerateDirectories(sysBlock).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (NotDisks.Any(p => name.StartsWith(p, StringComparison.Ordinal)) || name == mediumDisk) continue;
            if (Read(dir, "removable") == "1") continue;
            long size = long.TryParse(Read(dir, "size"), NumberStyles.None, CultureInfo.InvariantCulture, out var sectors) ? sectors * 512 : 0;
            if (size == 0) continue;
            list.Add(new DiskCandidate(name, size));
        }
        return list;
    }

    /// <summary>The whole disk below <paramref name="sysBlock"/> that device <paramref name="majorMinor"/> is or is a partition of, or null.</summary>
    public static string? DiskOf(string sysBlock, string? majorMinor)
    {
        if (majorMinor is null || !Directory.Exists(sysBlock)) return null;
        foreach (var dir in Directory.EnumerateDirectories(sysBlock))
        {
            if (Read(dir, "dev") == majorMinor) return Path.GetFileName(dir);
            foreach (var part in Directory.EnumerateDirectories(dir))
                if (File.Exists(Path.Combine(part, "partition")) && Read(part, "dev") == majorMinor) return Path.GetFileName(dir);
        }
        return null;
    }

    /// <summary>
    /// The device to write: <paramref name="installDisk"/> when given (it must exist, be a whole disk and not the
    /// medium's), else the one candidate.
    /// </summary>
    /// <exception cref="InstallRefusedException">No such disk, a partition, the medium's disk, no candidate or several.</exception>
    public static string Choose(string? installDisk, string sysBlock, string? mediumDisk)
    {
        if (installDisk is not null)
        {
            if (!File.Exists(installDisk) || !BlockDevices.IsBlockDevice(installDisk))
                throw new InstallRefusedException($"target.installDisk {installDisk} does not exist on this machine ({Listing(sysBlock, mediumDisk)}); " +
                    "correct target.installDisk in the profile and build the medium again");
            var name = BlockDevices.KernelName(installDisk);
            if (BlockDevices.ParentDisk(installDisk) is { } parent)
                throw new InstallRefusedException($"target.installDisk {installDisk} is a partition of {parent}; name the whole disk");
            if (name == mediumDisk)
                throw new InstallRefusedException($"target.installDisk {installDisk} is the disk this medium was booted from; name the machine's own disk");
            return installDisk;
        }
        var candidates = Candidates(sysBlock, mediumDisk);
        return candidates.Count switch
        {
            1 => candidates[0].Device,
            0 => throw new InstallRefusedException("no disk to install to: no whole, non-removable disk other than the medium was found; " +
                 "attach one, or name it in the profile's target.installDisk"),
            _ => throw new InstallRefusedException($"{candidates.Count} disks could be the target: {string.Join(", ", candidates)}; " +
                 "the installer does not guess: set target.installDisk in the profile to one of them and build the medium again"),
        };
    }

    private static string Listing(string sysBlock, string? mediumDisk) =>
        Candidates(sysBlock, mediumDisk) is { Count: > 0 } c ? "the disks here: " + string.Join(", ", c) : "no other disk was found";

    private static string? Read(string dir, string file)
    {
        var f = Path.Combine(dir, file);
        try { return File.Exists(f) ? File.ReadAllText(f).Trim() : null; }
        catch (IOException) { return null; }
    }
}
