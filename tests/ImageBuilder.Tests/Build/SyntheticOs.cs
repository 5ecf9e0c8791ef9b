// A small OS image made in the test: stand-in kernel, modules and bootloader, packed as an OCI image in a temp content store.
using System.Formats.Tar;
using System.Text;
using Appliance.ImageBuilder.Build;
using Appliance.ImageBuilder.Profiles;
using Appliance.ImageBuilder.Store;
using Appliance.ImageBuilder.Tests.Cli;
using Appliance.ImageBuilder.Tests.Store;

namespace Appliance.ImageBuilder.Tests.Build;

/// <summary>
/// Everything the build reads from an OS image, in a few KiB of plain files: <c>/boot/vmlinuz-V</c> (a stand-in
/// kernel, as large as asked), <c>/lib/modules/V/modules.dep</c> with one stand-in <c>.ko</c> per module the
/// initramfs needs, <c>/bin/busybox</c>, systemd-boot's EFI file and a dpkg status file. Added to a content store in
/// a temp directory as <see cref="Reference"/>, so a build runs with no download and no OS kit. The store also holds
/// the test fixture runtime release <see cref="SyntheticRuntime"/> for the platforms asked (linux/amd64 by default).
/// </summary>
public sealed class SyntheticOs : IDisposable
{
    /// <summary>The kernel version of the stand-in kernel.</summary>
    public const string KernelVersion = "6.1.0-test-amd64";

    /// <summary>The store name of the image.</summary>
    public const string Reference = "appliance/os-synthetic:1";

    /// <summary>The build's SOURCE_DATE_EPOCH.</summary>
    public const long Epoch = 1700000000;

    private static readonly string[] Modules =
    [
        "kernel/fs/squashfs/squashfs.ko", "kernel/fs/overlayfs/overlay.ko", "kernel/fs/fat/fat.ko", "kernel/fs/fat/vfat.ko",
        "kernel/fs/nls/nls_cp437.ko", "kernel/fs/nls/nls_iso8859-1.ko", "kernel/drivers/block/loop.ko", "kernel/fs/isofs/isofs.ko",
        "kernel/drivers/virtio/virtio_pci.ko", "kernel/drivers/block/virtio_blk.ko",
    ];

    private readonly TempDir _dir = new();

    /// <summary>
    /// Makes the image (its kernel <paramref name="kernelBytes"/> long) and adds it to a new store, with the fixture runtime
    /// release for <paramref name="runtimeArches"/> (none: no release in the store).
    /// </summary>
    public SyntheticOs(int kernelBytes = 64 << 10, string[]? runtimeArches = null)
    {
        var archive = _dir["os.oci.tar"];
        File.WriteAllBytes(archive, TestImages.ArchiveTar(TestImages.Make(Reference, [Layer(kernelBytes)], Appliance.ImageBuilder.Oci.LayerCompression.Gzip).Files()));
        var r = CliRunner.Run("store", "add", "--store", StoreDir, "--name", Reference, archive);
        Assert.True(r.ExitCode == 0, r.Error);
        runtimeArches ??= ["amd64"];
        if (runtimeArches.Length > 0)
            SyntheticRuntime.AddTo(StoreDir, _dir["runtime"], runtimeArches);
    }

    /// <summary>The content store holding the image.</summary>
    public string StoreDir => _dir["store"];

    /// <summary>A directory for this test's files.</summary>
    public string Dir => _dir.Path;

    /// <summary>The one layer: a Debian-like tree in plain files.</summary>
    private static byte[] Layer(int kernelBytes)
    {
        var m = new List<TarMember>();
        void Dir(string path) => m.Add(new TarMember(path + "/", Type: TarEntryType.Directory));
        void File(string path, byte[] data, int mode = 0b110_100_100) => m.Add(new TarMember(path, data, Mode: mode));
        foreach (var d in new[] { "bin", "boot", "etc", "lib", "lib/modules", $"lib/modules/{KernelVersion}", "usr", "usr/lib", "usr/lib/systemd",
                     "usr/lib/systemd/boot", "usr/lib/systemd/boot/efi", "var", "var/lib", "var/lib/dpkg" })
            Dir(d);
        File("bin/busybox", Encoding.UTF8.GetBytes("#!/bin/sh\n# stand-in for busybox-static\n"), 0b111_101_101);
        File("etc/os-release", "NAME=\"Synthetic\"\nID=synthetic\n"u8.ToArray());
        var kernel = new byte[kernelBytes];
        new Random(42).NextBytes(kernel.AsSpan(0, Math.Min(kernelBytes, 64 << 10)));
        File($"boot/vmlinuz-{KernelVersion}", kernel);
        var dep = new StringBuilder();
        foreach (var dir in Modules.Select(p => Path.GetDirectoryName(p)!.Replace('\\', '/')).Distinct().SelectMany(Parents).Distinct().Order(StringComparer.Ordinal))
            Dir($"lib/modules/{KernelVersion}/{dir}");
        foreach (var ko in Modules)
        {
            File($"lib/modules/{KernelVersion}/{ko}", Encoding.UTF8.GetBytes($"stand-in module {ko}\n"));
            dep.Append(ko).Append(':').Append(ko.EndsWith("/vfat.ko", StringComparison.Ordinal) ? " kernel/fs/fat/fat.ko" : "").Append('\n');
        }
        File($"lib/modules/{KernelVersion}/modules.dep", Encoding.UTF8.GetBytes(dep.ToString()));
        File($"lib/modules/{KernelVersion}/modules.builtin", "kernel/fs/ext4/ext4.ko\n"u8.ToArray());
        File("usr/lib/systemd/boot/efi/systemd-bootx64.efi", Encoding.UTF8.GetBytes("MZ stand-in for systemd-boot\n"));
        File("var/lib/dpkg/status", """
            Package: busybox-static
            Status: install ok installed
            Architecture: amd64
            Version: 1:1.35.0-4+b3

            Package: linux-image-6.1.0-test-amd64
            Status: install ok installed
            Architecture: amd64
            Version: 6.1.0-1

            """u8.ToArray());
        return TestImages.Tar(m);
    }

    private static IEnumerable<string> Parents(string dir)
    {
        for (var d = dir; d.Length > 0; d = Path.GetDirectoryName(d)?.Replace('\\', '/') ?? "")
            yield return d;
    }

    /// <summary>
    /// An x86_64-uefi profile for this image, written under <see cref="Dir"/> next to a file <c>token</c>; <paramref name="cluster"/>
    /// holds the lines of its cluster section, <paramref name="extra"/> more top-level YAML.
    /// </summary>
    public string Profile(string name, string diskSize = "2GiB", string hostname = "node1", string role = "server", string cluster = "tokenFile: token", string extra = "")
    {
        var dir = _dir["profiles-" + name];
        Directory.CreateDirectory(dir);
        System.IO.File.WriteAllText(Path.Combine(dir, "token"), "synthetic-token-0123456789\n");
        var yaml = $"""
            apiVersion: appliance/v1
            kind: SiteProfile
            metadata:
              name: {name}
            target:
              board: x86_64-uefi
              diskSize: {diskSize}
            os:
              image: {Reference}
            runtime:
              version: {SyntheticRuntime.Version}
            node:
              role: {role}
              hostname: {hostname}
            cluster:
            {string.Join("\n", cluster.Split('\n').Select(l => "  " + l))}
            """ + "\n" + extra;
        var file = Path.Combine(dir, "profile.yaml");
        System.IO.File.WriteAllText(file, yaml);
        return file;
    }

    /// <summary>Runs the build pipeline in-process on <paramref name="profile"/>, with an optional boot target in place of the board's.</summary>
    public BuildResult Build(string profile, string outDir, Appliance.ImageBuilder.Boot.IBootTarget? target = null,
        Appliance.ImageBuilder.Signing.Keys.SigningKey? key = null, List<string>? progress = null, Uri? apiServer = null)
    {
        var loaded = ProfileLoader.Load(profile, Environment.GetEnvironmentVariable);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Problems));
        return new ImageBuild(ContentStore.Open(StoreDir), line => progress?.Add(line), target)
            .Run(new BuildRequest(profile, outDir, Epoch, key) { ApiServer = apiServer }, loaded);
    }

    /// <inheritdoc/>
    public void Dispose() => _dir.Dispose();
}
