// A site's disk on a loop device, made by the image builder's writers, and appliance-firstboot run against it.
using System.Security.Cryptography;
using System.Text;
using Appliance.ImageBuilder.Boot.SystemdBoot;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.Tree;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Appliance.Firstboot.Tests.Support;

/// <summary>The disk layouts first boot meets.</summary>
public enum DiskKind
{
    /// <summary>GPT, the image ends after root-a (the layout the build now writes).</summary>
    GptEndsAfterRootA,
    /// <summary>GPT with root-b already in the image (images built before that change).</summary>
    GptWithRootB,
    /// <summary>MBR (the Raspberry Pi boards), the image ends after root-a.</summary>
    MbrEndsAfterRootA,
}

/// <summary>
/// A disk file of <c>diskBytes</c> (sparse) whose start is an image written by <see cref="DiskImageBuilder"/>: boot
/// (FAT32 labelled BOOT: systemd-boot's loader entry with its boot counter, <c>appliance/site.yaml</c> with a secrets
/// document, one manifest), root-a (SquashFS). It is attached to a loop device; the device prefix (<c>--root</c>)
/// holds <c>/etc/appliance/build.json</c>. Dispose unmounts, detaches and deletes everything.
/// </summary>
public sealed class TestDisk : IDisposable
{
    /// <summary>The token the site carries; its secret part must end up on DATA only.</summary>
    public const string Token = "K10aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa::server:power-cut-secret-7f3e9c";
    /// <summary>A line of the CA key's PEM; must end up on DATA only.</summary>
    public const string KeyMarker = "MHcCAQEEIPowerCutCaKeyMaterialThatMustLeaveTheFat0123456789abcdef";
    /// <summary>The build time in build.json.</summary>
    public const long Epoch = 1700000000;

    private readonly TempDir _dir = new("firstboot-disk-");
    private LoopDevice? _loop;

    private TestDisk(IReadOnlyList<string> secrets) => Secrets = secrets;

    /// <summary>Text of each secret site.yaml carries, which must end up on DATA only.</summary>
    public IReadOnlyList<string> Secrets { get; }

    /// <summary>The loop device.</summary>
    public string Device => _loop!.Device;
    /// <summary>The boot partition's node.</summary>
    public string Boot => _loop!.Partition(1);
    /// <summary>The prefix passed as --root.</summary>
    public string Root => _dir["root"];
    /// <summary>The paths under <see cref="Root"/>.</summary>
    public FirstbootPaths Paths => new(Root);
    /// <summary>The attached loop device.</summary>
    public LoopDevice Loop => _loop!;

    /// <summary>Site.yaml as the build writes it: the profile, then the secrets document.</summary>
    public static string SiteYaml(string minimumDisk = "1GiB", string role = "server", string? installDisk = null) =>
        "# Appliance site configuration, written by appliance build. The only site-specific file of the image.\n" +
        "apiVersion: appliance/v1\nkind: SiteProfile\nmetadata:\n  name: shop-042\n" +
        $"target:\n  board: x86_64-uefi\n  diskSize: {minimumDisk}\n" + (installDisk is null ? "" : $"  installDisk: {installDisk}\n") + "os:\n  image: appliance/os-debian:bookworm\n" +
        $"runtime:\n  version: v1.31.4\nnode:\n  role: {role}\n  hostname: node1\n" +
        "network:\n  interfaces:\n  - name: eth0\n    addresses:\n    - 192.168.10.5/24\n    gateway: 192.168.10.1\n" +
        "cluster:\n  token: <redacted>\nmanifests:\n- demo.yaml\n" +
        "---\n# Secrets: moved off this partition by appliance-firstboot on the first boot.\n" +
        $"clusterToken: \"{Token}\"\n" +
        "pki:\n  server-ca.crt: |\n    -----BEGIN CERTIFICATE-----\n    MIIBcertificatebody\n    -----END CERTIFICATE-----\n" +
        $"  server-ca.key: |\n    -----BEGIN EC PRIVATE KEY-----\n    {KeyMarker}\n    -----END EC PRIVATE KEY-----\n";

    /// <summary>Builds the image, copies it to the start of a <paramref name="diskBytes"/> disk file and attaches it.</summary>
    /// <param name="kind">The layout.</param>
    /// <param name="diskBytes">The disk's size (the image is smaller).</param>
    /// <param name="siteYaml">site.yaml's text; null: <see cref="SiteYaml"/>.</param>
    /// <param name="withSiteYaml">False leaves site.yaml out.</param>
    public static TestDisk Create(DiskKind kind = DiskKind.GptEndsAfterRootA, long diskBytes = 1536L << 20, string? siteYaml = null, bool withSiteYaml = true)
    {
        var disk = new TestDisk([Token, KeyMarker]);
        try
        {
            var image = disk._dir["site.img"];
            BuildImage(image, kind, siteYaml, withSiteYaml);
            disk.WriteBuildJson();
            disk.Attach(image, diskBytes, move: true);
            return disk;
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An empty disk of <paramref name="diskBytes"/> (sparse, all zeros, no partition table) attached to a loop device,
    /// with build.json under <see cref="Root"/>: the installer's target. After the install, <see cref="ReadPartitions"/>
    /// tells the kernel about the table written, and <see cref="Run"/> does the first boot on it.
    /// </summary>
    public static TestDisk Blank(long diskBytes)
    {
        var disk = new TestDisk([Token, KeyMarker]);
        try
        {
            var file = disk._dir["disk.raw"];
            ProcessRunner.Run("truncate", ["-s", diskBytes.ToString(), file]).Ok();
            disk._loop = LoopDevice.Attach(file);
            disk.WriteBuildJson();
            return disk;
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    /// <summary>Makes the kernel read the partition table now on the disk (<c>partx -a</c>), and waits for the boot partition's node.</summary>
    public void ReadPartitions()
    {
        ProcessRunner.Run("partx", ["-a", Device]);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(Boot))
        {
            if (DateTime.UtcNow > deadline) throw new IOException($"{Boot} did not appear after partx -a {Device}");
            Thread.Sleep(50);
        }
    }

    private void WriteBuildJson()
    {
        Directory.CreateDirectory(Path.Combine(Root, "etc/appliance"));
        File.WriteAllText(Path.Combine(Root, "etc/appliance/build.json"),
            $"{{\"board\":\"x86_64-uefi\",\"runtime\":\"v1.31.4\",\"osDigest\":\"sha256:{new string('e', 64)}\",\"sourceDateEpoch\":{Epoch}}}\n");
    }

    /// <summary>
    /// Writes the test image to <paramref name="path"/> with digests (as the build does): boot (FAT32 BOOT with the
    /// loader entry, site.yaml, one manifest) and root-a (SquashFS, 128 MiB partition). Returns what was written and the
    /// boot partition's tree.
    /// </summary>
    public static (DiskImageResult Result, FileTree Boot) BuildImage(string path, DiskKind kind = DiskKind.GptEndsAfterRootA, string? siteYaml = null, bool withSiteYaml = true)
    {
        var boot = new FileTree(Epoch);
        boot.AddFile("EFI/BOOT/BOOTX64.EFI", "MZ stand-in for systemd-boot\n"u8.ToArray());
        boot.AddFile("loader/loader.conf", Encoding.UTF8.GetBytes(SystemdBootTarget.LoaderConf));
        boot.AddFile($"loader/entries/{SystemdBootTarget.EntryFileName("a")}", "title Appliance (slot a)\nlinux /a/vmlinuz\n"u8.ToArray());
        boot.AddFile("a/vmlinuz", new byte[100_000]);
        if (withSiteYaml) boot.AddFile("appliance/site.yaml", Encoding.UTF8.GetBytes(siteYaml ?? SiteYaml()));
        boot.AddFile("appliance/manifests/demo.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n"u8.ToArray());
        var root = new FileTree(Epoch);
        root.AddFile("etc/os-release", "ID=synthetic\n"u8.ToArray());
        var table = kind == DiskKind.MbrEndsAfterRootA ? PartitionTableKind.Mbr : PartitionTableKind.Gpt;
        var parts = new List<PartitionSpec>
        {
            new()
            {
                Name = "boot", Size = 256L << 20, Bootable = table == PartitionTableKind.Mbr, MbrType = Appliance.Common.Disk.Mbr.MbrPartition.Fat32Lba,
                GptType = Appliance.Common.Disk.Gpt.GptPartitionTypes.EfiSystem,
                Content = new FatPartitionContent(boot, new FatOptions { VolumeLabel = "BOOT", VolumeSerial = 0x1234ABCD }),
            },
            PartitionSpec.SquashFs("root-a", root, size: 128L << 20),
        };
        if (kind == DiskKind.GptWithRootB) parts.Add(PartitionSpec.Empty("root-b", sameSizeAs: "root-a"));
        var plan = new DiskImagePlan
        {
            Table = table, IdentitySeed = "firstboot-test"u8.ToArray(), Partitions = parts,
            Size = kind == DiskKind.GptWithRootB ? 1L << 30 : null, Digests = true,
        };
        return (DiskImageBuilder.Build(plan, path, durable: false), boot);
    }

    /// <summary>
    /// A disk of <paramref name="diskBytes"/> starting with a copy of <paramref name="image"/>, an image made by
    /// <c>appliance build</c>; build.json for <c>--root</c> is read out of its root-a with unsquashfs.
    /// <paramref name="secrets"/>: the secret text its site.yaml carries.
    /// </summary>
    public static TestDisk FromImage(string image, long diskBytes, IReadOnlyList<string> secrets)
    {
        var disk = new TestDisk(secrets);
        try
        {
            disk.Attach(image, diskBytes, move: false);
            Directory.CreateDirectory(Path.Combine(disk.Root, "etc/appliance"));
            var json = ProcessRunner.Run("unsquashfs", ["-cat", disk.Loop.Partition(2), "etc/appliance/build.json"]).Ok().Out;
            File.WriteAllText(Path.Combine(disk.Root, "etc/appliance/build.json"), json);
            return disk;
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    private void Attach(string image, long diskBytes, bool move)
    {
        var file = _dir["disk.raw"];
        ProcessRunner.Run("cp", ["--sparse=always", image, file]).Ok();
        if (move) File.Delete(image);
        ProcessRunner.Run("truncate", ["-s", diskBytes.ToString(), file]).Ok();
        _loop = LoopDevice.Attach(file);
    }

    /// <summary>Skips the test, with the reason, unless loop devices can be attached (root, tools).</summary>
    public static void RequireLoop()
    {
        if (LoopDevice.Unavailable() is { } why) Assert.Skip(why);
    }

    /// <summary>The firstboot program (the test's build output).</summary>
    public static string Program => Path.Combine(AppContext.BaseDirectory, "appliance-firstboot.dll");

    /// <summary>
    /// The published program when <c>APPLIANCE_FIRSTBOOT_BINARY</c> names one (for example the NativeAOT build of
    /// <c>dotnet publish src/Firstboot -r linux-x64 -p:PublishAot=true</c>), else <c>dotnet</c> with <see cref="Program"/>.
    /// </summary>
    public static (string File, string[] Args) Command(params string[] args) =>
        Environment.GetEnvironmentVariable("APPLIANCE_FIRSTBOOT_BINARY") is { Length: > 0 } published ? (published, args) : ("dotnet", [Program, .. args]);

    /// <summary>Runs <c>appliance-firstboot ARGS</c>.</summary>
    public static ProcessResult Firstboot(params string[] args)
    {
        var (file, full) = Command(args);
        return ProcessRunner.Run(file, full);
    }

    /// <summary>Runs <c>appliance-firstboot run</c> against the disk with device actions off; <paramref name="stopAt"/> sets the stop point.</summary>
    public ProcessResult Run(string? stopAt = null, params string[] extra)
    {
        var (file, args) = Command(["run", "--root", Root, "--boot-device", Boot, "--disk", Device, "--slot", "a",
            "--device-actions", "off", "--no-set-clock", "--no-supervise", .. extra]);
        return ProcessRunner.Run(file, args, new ProcessOptions
            {
                Environment = new Dictionary<string, string?> { [StopPoints.Variable] = stopAt, ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
                Timeout = TimeSpan.FromMinutes(5),
            });
    }

    /// <summary>Whether the data partition is mounted at DATA.</summary>
    public bool DataMounted => Loop.MountPoints().Contains(Paths.Data);

    /// <summary>The raw bytes of the boot partition.</summary>
    public byte[] BootBytes() => File.ReadAllBytes(Boot);

    /// <summary>
    /// Everything a finished first boot leaves, in a text that two runs can compare: the partition table (sfdisk's
    /// dump, the device name replaced), the data file system's label and UUID and a clean <c>e2fsck -fn</c>, every file
    /// on DATA (mode and SHA-256; the log, the status copy and the test's own marker left out), <c>fsck.fat -n</c>
    /// of the boot partition, site.yaml as mtools reads it and the loader entries. Unmounts DATA (e2fsck needs it).
    /// </summary>
    public string Fingerprint(string? dataMarkerDir = "keep")
    {
        var sb = new StringBuilder();
        sb.Append(ProcessRunner.Run("sfdisk", ["--dump", Device]).Ok().Out.Replace(Device, "DISK")).Append('\n');
        if (DataMounted)
        {
            foreach (var f in Directory.EnumerateFiles(Paths.Data, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var rel = Path.GetRelativePath(Paths.Data, f);
                if (rel.StartsWith("logs/") || rel == "firstboot/status.json" || rel.StartsWith("lost+found") || rel.StartsWith(dataMarkerDir + "/")) continue;
                sb.Append($"{rel} {Convert.ToString((int)File.GetUnixFileMode(f), 8)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))}\n");
            }
            ProcessRunner.Run("umount", [Paths.Data]).Ok();
        }
        else sb.Append("DATA not mounted\n");
        var data = DataPartition();
        if (data is not null)
        {
            ProcessRunner.Run("e2fsck", ["-fn", data]).Ok();
            foreach (var l in ProcessRunner.Run("dumpe2fs", ["-h", data]).Ok().Out.Split('\n'))
                if (l.StartsWith("Filesystem volume name:") || l.StartsWith("Filesystem UUID:")) sb.Append(l).Append('\n');
        }
        ProcessRunner.Run("fsck.fat", ["-n", Boot]).Ok();
        sb.Append(ProcessRunner.Run("mtype", ["-i", Boot, "::appliance/site.yaml"]).Ok().Out);
        sb.Append(ProcessRunner.Run("mdir", ["-b", "-i", Boot, "::loader/entries"]).Ok().Out);
        return sb.ToString();
    }

    /// <summary>The data partition's node, when the kernel knows it (partition 4: after boot, root-a, root-b).</summary>
    public string? DataPartition() => File.Exists(Loop.Partition(4)) ? Loop.Partition(4) : null;

    /// <inheritdoc/>
    public void Dispose()
    {
        _loop?.Dispose();
        _dir.Dispose();
    }
}
