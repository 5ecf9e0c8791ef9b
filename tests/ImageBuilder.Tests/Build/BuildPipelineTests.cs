// The build pipeline on a synthetic OS image: no download, no OS kit, no network.
using System.Text.Json;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Boot;
using Appliance.ImageBuilder.IO;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Oci;
using Appliance.ImageBuilder.Signing.Keys;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Disk;
using RootFs = Appliance.ImageBuilder.Boot.RootFs;

namespace Appliance.ImageBuilder.Tests.Build;

/// <summary>What the pipeline writes, checked on an image built from <see cref="SyntheticOs"/>.</summary>
[Trait("Category", "RoundTrip")]
public sealed class BuildPipelineTests
{
    private static string Sha(string path, long offset, long length) =>
        Convert.ToHexStringLower(Appliance.Common.FileSha256.Hash(path, offset, length));

    /// <summary>
    /// The digests taken while the image is written are those of the file: the image's equals <c>sha256sum</c>'s, each
    /// partition's equals a hash of its bytes, and the image's bundle signs that digest.
    /// </summary>
    [Fact]
    public void Digests_TakenWhileWriting_AreThoseOfTheFile()
    {
        using var os = new SyntheticOs();
        using var key = SigningKey.Generate();
        var r = os.Build(os.Profile("digests"), Path.Combine(os.Dir, "out"), key: key);

        var sum = DiskTools.Run("sha256sum", [r.ImagePath]).Out.Split(' ')[0];
        Assert.Equal(sum, Convert.ToHexStringLower(r.ImageSha256));
        foreach (var p in r.Manifest.Partitions)
            Assert.Equal(Sha(r.ImagePath, p.Offset, p.Size), p.Sha256);

        var bundle = r.Bundles.Single(b => b.EndsWith(".img.sigstore.json", StringComparison.Ordinal));
        var v = CliTools.Verify(r.ImagePath, bundle, key);
        Assert.True(v.ExitCode == 0, v.Error);
        foreach (var other in r.Bundles.Where(b => b != bundle))
        {
            var w = CliTools.Verify(other[..^".sigstore.json".Length], other, key);
            Assert.True(w.ExitCode == 0, w.Error);
        }
    }

    /// <summary>
    /// The image is as small as its content: boot and root-a, then the backup GPT's 33 sectors, and nothing else, however
    /// large target.diskSize is; the manifest keeps target.diskSize as the minimum disk, and the boot partition's
    /// site.yaml carries it for firstboot. The slot is still sized for two slots on that disk.
    /// </summary>
    [Fact]
    public void Image_EndsAfterRootA_AndTheMinimumDiskIsRecorded()
    {
        using var os = new SyntheticOs();
        var r = os.Build(os.Profile("small-image", diskSize: "8GiB"), Path.Combine(os.Dir, "out"));
        Assert.Equal(["boot", "root-a"], r.Manifest.Partitions.Select(p => p.Name));
        var rootA = r.Manifest.Partitions[1];
        Assert.Equal(rootA.Offset + rootA.Size + 33 * 512, r.Manifest.Size);
        Assert.Equal(r.Manifest.Size, new FileInfo(r.ImagePath).Length);
        Assert.Equal(Appliance.ImageBuilder.Build.DiskLayout.MinSlotSize, rootA.Size);
        Assert.Equal(8L << 30, r.Manifest.MinimumDiskSize);
        using (var json = JsonDocument.Parse(File.ReadAllBytes(r.ManifestPath)))
            Assert.Equal(8L << 30, json.RootElement.GetProperty("minimumDiskSize").GetInt64());
        var boot = r.Manifest.Partitions[0];
        var site = System.Text.Encoding.UTF8.GetString(Appliance.ImageBuilder.Tests.Boot.BootTestSupport.ReadFatFile(r.ImagePath, boot.Offset, "appliance/site.yaml"));
        Assert.Matches(@"(?m)^  diskSize: 8GiB$", site);
    }

    /// <summary>The tools read what the pipeline wrote: sgdisk sees a clean GPT, fsck.fat a clean boot FAT, unsquashfs root-a.</summary>
    [Fact]
    [Trait("Category", "External")]
    public void Image_IsReadByTheRealTools()
    {
        foreach (var tool in new[] { "sgdisk", "fsck.fat", "unsquashfs", "mcopy" })
            if (DiskTools.Find(tool) is null) Assert.Skip($"{tool} is not installed");
        using var os = new SyntheticOs();
        var r = os.Build(os.Profile("tools"), Path.Combine(os.Dir, "out"));
        var gpt = DiskTools.Run("sgdisk", ["-v", r.ImagePath]);
        Assert.Contains("No problems found", gpt.Out);
        var boot = r.Manifest.Partitions.Single(p => p.Name == "boot");
        var rootA = r.Manifest.Partitions.Single(p => p.Name == "root-a");
        var fat = Path.Combine(os.Dir, "boot.fat");
        var squash = Path.Combine(os.Dir, "root-a.squashfs");
        DiskTools.Run("dd", [$"if={r.ImagePath}", $"of={fat}", "bs=1M", $"skip={boot.Offset >> 20}", $"count={boot.Size >> 20}", "conv=sparse", "status=none"]);
        DiskTools.Run("dd", [$"if={r.ImagePath}", $"of={squash}", "bs=1M", $"skip={rootA.Offset >> 20}", $"count={rootA.Size >> 20}", "conv=sparse", "status=none"]);
        DiskTools.Run("fsck.fat", ["-n", fat]);
        var kernel = Appliance.ImageBuilder.Tests.Boot.BootTestSupport.ReadFatFile(r.ImagePath, boot.Offset, "a/vmlinuz");
        Assert.Equal(64 << 10, kernel.Length);
        var list = DiskTools.Run("unsquashfs", ["-lln", squash]).Out;
        Assert.Contains($"/lib/modules/{SyntheticOs.KernelVersion}/modules.dep", list);
        Assert.Contains("/etc/appliance/build.json", list);
        Assert.Contains("/usr/lib/appliance/rc.boot", list);

        // The init contract: rc.boot (mounts, modules, marker, selftest power-off) runs to its end as sysinit before
        // init starts appliance-firstboot, respawned; rc.shutdown stops it at shutdown.
        var inittab = DiskTools.Run("unsquashfs", ["-cat", squash, "etc/inittab"]).Out.Split('\n')
            .Where(l => l.StartsWith("::", StringComparison.Ordinal)).ToList();
        Assert.Equal("::sysinit:/usr/lib/appliance/rc.boot", inittab[0]);
        Assert.Contains("::respawn:/usr/lib/appliance/appliance-firstboot run", inittab);
        Assert.Contains("::shutdown:/usr/lib/appliance/rc.shutdown", inittab);
        var rcBoot = DiskTools.Run("unsquashfs", ["-cat", squash, "usr/lib/appliance/rc.boot"]).Out;
        Assert.Contains("echo \"APPLIANCE-BOOT-OK $board slot=$slot data=$data${mode:+ mode=$mode} $(/usr/lib/appliance/appliance-runtime --version)\" > /dev/console", rcBoot);
        Assert.True(rcBoot.IndexOf("appliance.selftest=poweroff)", StringComparison.Ordinal) > rcBoot.IndexOf("echo \"APPLIANCE-BOOT-OK", StringComparison.Ordinal), "rc.boot must print the marker before a selftest powers off");
        Assert.Contains("kill -TERM $fb", DiskTools.Run("unsquashfs", ["-cat", squash, "usr/lib/appliance/rc.shutdown"]).Out);
    }

    /// <summary>The same inputs give the same bytes; another site differs only in site.yaml's digest, never in root-a.</summary>
    [Fact]
    public void SameInputs_SameBytes_AndSitesShareRootA()
    {
        using var os = new SyntheticOs();
        var a = os.Build(os.Profile("north", hostname: "north"), Path.Combine(os.Dir, "a"));
        var again = os.Build(os.Profile("north", hostname: "north"), Path.Combine(os.Dir, "again"));
        var b = os.Build(os.Profile("south", hostname: "south"), Path.Combine(os.Dir, "b"));
        Assert.Equal(a.ImageSha256, again.ImageSha256);
        Assert.Equal(File.ReadAllBytes(a.ManifestPath), File.ReadAllBytes(again.ManifestPath));
        Assert.Equal(File.ReadAllBytes(a.SbomPath), File.ReadAllBytes(again.SbomPath));
        string RootA(Appliance.ImageBuilder.Build.BuildResult r) => r.Manifest.Partitions.Single(p => p.Name == "root-a").Sha256!;
        Assert.Equal(RootA(a), RootA(b));
        Assert.NotEqual(a.Manifest.SiteConfigSha256, b.Manifest.SiteConfigSha256);
        Assert.NotEqual(a.ImageSha256, b.ImageSha256);
    }

    /// <summary>The pipeline's steps in order, as progress reports them.</summary>
    [Fact]
    public void Progress_NamesEachStep()
    {
        using var os = new SyntheticOs();
        var lines = new List<string>();
        os.Build(os.Profile("steps"), Path.Combine(os.Dir, "out"), progress: lines);
        string[] steps = ["resolving OS image", $"runtime {SyntheticRuntime.FullVersion}", "flattening", $"kernel {SyntheticOs.KernelVersion}", "initramfs: 10 modules", "writing root-a", "composing steps.img", "wrote "];
        int at = -1;
        foreach (var s in steps)
        {
            int i = lines.FindIndex(at + 1, l => l.StartsWith(s, StringComparison.Ordinal));
            Assert.True(i > at, $"'{s}' not after line {at} in:\n{string.Join("\n", lines)}");
            at = i;
        }
    }

    /// <summary>A disk too small for boot and two slots is refused with the sizes, before any output exists.</summary>
    [Fact]
    public void TooSmallDisk_SaysWhatIsNeeded()
    {
        using var os = new SyntheticOs();
        var outDir = Path.Combine(os.Dir, "out");
        var e = Assert.Throws<UserInputException>(() => os.Build(os.Profile("small", diskSize: "1GiB"), outDir));
        Assert.Contains("target.diskSize 1GiB is too small", e.Message);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    /// <summary>A kernel that leaves no room on the 256 MiB boot partition: the message says the boot partition, and the file it ran out at.</summary>
    [Fact]
    public void FullBootPartition_IsReportedAsSuch()
    {
        using var os = new SyntheticOs(kernelBytes: 300 << 20);
        var outDir = Path.Combine(os.Dir, "out");
        var e = Assert.Throws<UserInputException>(() => os.Build(os.Profile("full"), outDir));
        Assert.Contains("256 MiB FAT32 boot partition", e.Message);
        Assert.Contains("(ran out at /a/vmlinuz)", e.Message);
        Assert.DoesNotContain("diskSize", e.Message);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    /// <summary>Two boot files whose names differ only in case: the clash is named.</summary>
    [Fact]
    public void FatNameClash_IsReportedAsSuch()
    {
        using var os = new SyntheticOs();
        var target = new ExtraBootFiles(Board.X86_64Uefi.BootTarget, boot => boot.AddFile("EFI/BOOT/bootx64.efi", "x"u8.ToArray()));
        var outDir = Path.Combine(os.Dir, "out");
        var e = Assert.Throws<UserInputException>(() => os.Build(os.Profile("clash"), outDir, target));
        Assert.Contains("differ only in case", e.Message);
        Assert.Contains("bootx64.efi", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("diskSize", e.Message);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    /// <summary>A symlink among the boot files (FAT has none): the link is named.</summary>
    [Fact]
    public void SymlinkOnBootPartition_IsReportedAsSuch()
    {
        using var os = new SyntheticOs();
        var target = new ExtraBootFiles(Board.X86_64Uefi.BootTarget, boot => boot.AddSymlink("a/vmlinuz.old", "vmlinuz"));
        var outDir = Path.Combine(os.Dir, "out");
        var e = Assert.Throws<UserInputException>(() => os.Build(os.Profile("link"), outDir, target));
        Assert.Contains("/a/vmlinuz.old is a Symlink; FAT32 stores only files and directories", e.Message);
        Assert.DoesNotContain("diskSize", e.Message);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    /// <summary>A board's target with extra boot files, as a new or faulty target might add.</summary>
    private sealed class ExtraBootFiles(IBootTarget inner, Action<FileTree> add) : IBootTarget
    {
        public string SerialConsole => inner.SerialConsole;
        public string KernelCommandLine(string slot) => inner.KernelCommandLine(slot);
        public void AddBootFiles(FileTree boot, BootSlot slot, RootFs root, KernelInfo kernel, long mtime)
        {
            inner.AddBootFiles(boot, slot, root, kernel, mtime);
            add(boot);
        }
    }
}

/// <summary>Runs <c>appliance verify</c> on a file and its bundle with a key's public half.</summary>
internal static class CliTools
{
    public static CliResult Verify(string file, string bundle, SigningKey key)
    {
        var files = KeyPairFiles.In(Path.Combine(Path.GetDirectoryName(file)!, "..", "verify-key"));
        if (!File.Exists(files.PublicKeyPath)) files.Write(key, "verify-password");
        return CliRunner.Run("verify", file, "--bundle", bundle, "--key", files.PublicKeyPath);
    }
}
