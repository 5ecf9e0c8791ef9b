// Finds the one kernel an OS image carries: its version, image file, modules and device trees.
namespace Appliance.ImageBuilder.Boot;

/// <summary>The kernel of an OS image, found as <c>/boot/vmlinuz-VERSION</c> next to <c>/lib/modules/VERSION</c>.</summary>
public sealed record KernelInfo(string Version, string ImagePath, string ModulesPath, string? DeviceTreePath)
{
    /// <summary>Finds the kernel in <paramref name="root"/>; a missing or ambiguous kernel is an error.</summary>
    public static KernelInfo Find(RootFs root)
    {
        var versions = root.List("lib/modules")
            .Where(v => root.Find($"boot/vmlinuz-{v}") is { Type: Disk.Tree.FileNodeType.File })
            .ToList();
        if (versions.Count == 0)
            throw new InvalidDataException(
                $"{root.Description} has no kernel: expected /boot/vmlinuz-VERSION and /lib/modules/VERSION (build it with kits/debian/make-os-image.sh)");
        if (versions.Count > 1)
            throw new InvalidDataException($"{root.Description} has {versions.Count} kernels ({string.Join(", ", versions)}); an OS image must carry exactly one");
        var v = versions[0];
        string? dtbs = root.Find($"usr/lib/linux-image-{v}") is { Type: Disk.Tree.FileNodeType.Directory } ? $"usr/lib/linux-image-{v}" : null;
        return new KernelInfo(v, $"boot/vmlinuz-{v}", $"lib/modules/{v}", dtbs);
    }
}
