// Build step 4: the disk planned: slot size, the minimum disk, the boot partition's files, and boot + root-a with their identifiers.
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Boot;
using Appliance.ImageBuilder.Disk.Common;
using Appliance.ImageBuilder.Disk.Fat;
using Appliance.ImageBuilder.Disk.Image;
using Appliance.ImageBuilder.Disk.Tree;
using Appliance.ImageBuilder.Profiles.Model;

namespace Appliance.ImageBuilder.Build;

/// <summary>
/// The planned image: boot + root-a, every size fixed, hashed as it is written. The image ends after root-a (and the
/// backup GPT); appliance-firstboot makes root-b (root-a's size) and the data partition on the device's disk, which
/// must hold at least <see cref="MinimumDiskSize"/> (the profile's <c>target.diskSize</c>, also in site.yaml).
/// </summary>
/// <param name="Plan">What <see cref="DiskImageBuilder"/> writes.</param>
/// <param name="SlotSize">The size of each root slot (root-a in the image, root-b made on the device).</param>
/// <param name="MinimumDiskSize">The smallest disk the image may be written to: room for boot, two slots and data.</param>
/// <param name="SiteYaml">The bytes of <c>appliance/site.yaml</c> on the boot partition.</param>
/// <param name="Boot">The boot partition's files (an ISO carries a copy of them).</param>
public sealed record DiskLayout(DiskImagePlan Plan, long SlotSize, long MinimumDiskSize, byte[] SiteYaml, FileTree Boot)
{
    /// <summary>The boot partition size: room for two slots' kernels and initramfs plus firmware.</summary>
    public const long BootPartitionSize = 256L << 20;

    /// <summary>Root slots are rounded to this unit.</summary>
    public const long SlotUnit = 64L << 20;

    /// <summary>
    /// The smallest root slot. A slot holds twice its first root (rounded up), at least this much, so
    /// later upgrades written into the other slot of the same size have room to grow.
    /// </summary>
    public const long MinSlotSize = 512L << 20;

    private const long MiB = 1 << 20;

    /// <summary>
    /// Checks that boot and two slots fit <paramref name="diskSize"/> (the minimum disk the device will have, so
    /// firstboot always has room for root-b), fills the boot partition through
    /// <paramref name="target"/> (the board's boot chain) plus <c>appliance/site.yaml</c>, and lays out the disk. Disk, partition and volume
    /// identifiers derive from root-a's SHA-256, so two sites from one base share every byte outside site.yaml.
    /// </summary>
    public static DiskLayout Create(Board board, IBootTarget target, OsRoot os, RootContent content, RootImage rootA, byte[] siteYaml,
        ByteSize diskSize, long sourceDateEpoch, string profileFile, IReadOnlyList<(string Name, byte[] Bytes)>? manifests = null)
    {
        long slotSize = Math.Max(AlignUp(2 * rootA.Size, SlotUnit), MinSlotSize);
        long needed = MiB + BootPartitionSize + 2 * slotSize + MiB;
        if (needed > diskSize.Bytes)
            throw new UserInputException(
                $"{profileFile}: target.diskSize {diskSize} is too small: boot ({BootPartitionSize / MiB} MiB) and two root slots " +
                $"({slotSize / MiB} MiB each, for a {rootA.Size / MiB} MiB root) need {needed / MiB} MiB");

        var boot = new FileTree(sourceDateEpoch);
        target.AddBootFiles(boot, new BootSlot("a", content.Initramfs, $"Appliance {content.Manifest.Runtime}"), os.Fs, os.Kernel, sourceDateEpoch);
        boot.AddFile("appliance/site.yaml", siteYaml, mtime: sourceDateEpoch);
        SiteManifests.AddTo(boot, manifests ?? [], sourceDateEpoch);

        var plan = DiskImagePlan.BootAndRoot(boot, BootPartitionSize, new RawPartitionContent(FileContent.FromHostFile(rootA.Path)), slotSize,
            board.PartitionTable, diskSize: null, rootA.Sha256,
            new FatOptions { VolumeLabel = "BOOT", VolumeSerial = DerivedGuid.CreateUInt32(rootA.Sha256, "boot-volume-serial") }, digests: true);
        return new DiskLayout(plan, slotSize, diskSize.Bytes, siteYaml, boot);
    }

    private static long AlignUp(long v, long a) => (v + a - 1) / a * a;
}
