// The installer's disk choice on a stand-in /sys/block: which disks are candidates, the medium's disk, one or several.
using Appliance.Firstboot.Install;

namespace Appliance.Firstboot.Tests.Install;

/// <summary><see cref="TargetDisk"/> against a fake sysfs tree.</summary>
[Trait("Category", "Unit")]
public sealed class TargetDiskTests
{
    private const long GiB = 1L << 30;

    /// <summary>Only whole, non-removable, non-empty disks other than the medium's are candidates, in name order.</summary>
    [Fact]
    public void Candidates_LeaveOutRemovableEmptyVirtualAndTheMedium()
    {
        using var dir = new TempDir("sys-");
        var paths = new FirstbootPaths(dir.Path);
        FakeSys.Write(paths, ("vdb", 16 * GiB, false), ("vda", 8 * GiB, false), ("sdb", 4 * GiB, true), ("sr0", GiB, false), ("ram0", GiB, false),
            ("loop3", GiB, false), ("zram0", GiB, false), ("sda", 0, false), ("nvme0n1", 64 * GiB, false));
        Assert.Equal(["/dev/nvme0n1 (64 GiB)", "/dev/vda (8 GiB)", "/dev/vdb (16 GiB)"], TargetDisk.Candidates(paths.SysBlock, null).Select(c => c.ToString()));
        Assert.Equal(["/dev/nvme0n1 (64 GiB)", "/dev/vdb (16 GiB)"], TargetDisk.Candidates(paths.SysBlock, "vda").Select(c => c.ToString()));
    }

    /// <summary>The medium's disk is found from the mounted device's number, whether it is the disk or one of its partitions.</summary>
    [Fact]
    public void DiskOf_FindsTheWholeDisk_OfADiskOrAPartition()
    {
        using var dir = new TempDir("sys-");
        var paths = new FirstbootPaths(dir.Path);
        FakeSys.Write(paths, ("vda", 8 * GiB, false), ("vdb", 8 * GiB, false));
        var part = Path.Combine(paths.SysBlock, "vdb", "vdb1");
        Directory.CreateDirectory(part);
        File.WriteAllText(Path.Combine(part, "partition"), "1\n");
        File.WriteAllText(Path.Combine(part, "dev"), "252:17\n");
        Assert.Equal("vda", TargetDisk.DiskOf(paths.SysBlock, "252:0"));
        Assert.Equal("vdb", TargetDisk.DiskOf(paths.SysBlock, "252:17"));
        Assert.Null(TargetDisk.DiskOf(paths.SysBlock, "11:0"));
        Assert.Null(TargetDisk.DiskOf(paths.SysBlock, null));
    }

    /// <summary>One candidate is taken; the medium's disk never is; none is refused with what to do.</summary>
    [Fact]
    public void Choose_TakesTheOnlyCandidate_AndRefusesNone()
    {
        using var dir = new TempDir("sys-");
        var paths = new FirstbootPaths(dir.Path);
        FakeSys.Write(paths, ("vda", 8 * GiB, false), ("sdb", 4 * GiB, false));
        Assert.Equal("/dev/vda", TargetDisk.Choose(null, paths.SysBlock, "sdb"));
        var e = Assert.Throws<InstallRefusedException>(() => TargetDisk.Choose(null, Path.Combine(dir.Path, "none"), null));
        Assert.Equal("no disk to install to: no whole, non-removable disk other than the medium was found; attach one, or name it in the profile's target.installDisk", e.Message);
    }
}
