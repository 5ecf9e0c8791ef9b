// How this boot came up: from the disk (the normal case), or from the ISO medium to run live or to install.
namespace Appliance.Firstboot;

/// <summary>The kernel command line's <c>appliance.mode=</c>; absent is <see cref="Disk"/>.</summary>
public enum BootMode
{
    /// <summary>Booted from the machine's disk: the journaled first boot of the steps.</summary>
    Disk,
    /// <summary>Booted from the medium, root and data in RAM: the steps without partitioning, FAT edits or bless.</summary>
    Live,
    /// <summary>Booted from the medium to write the raw image onto the machine's disk, then power off.</summary>
    Install,
}

/// <summary>Reads the boot mode.</summary>
public static class BootModes
{
    private const string Key = "appliance.mode=";

    /// <summary>The mode the kernel command line at <paramref name="cmdline"/> names (a missing file is the disk boot).</summary>
    /// <exception cref="InvalidDataException">An <c>appliance.mode=</c> that is neither live nor install.</exception>
    public static BootMode Read(string cmdline)
    {
        if (!File.Exists(cmdline)) return BootMode.Disk;
        var mode = BootMode.Disk;
        foreach (var word in File.ReadAllText(cmdline).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            if (word.StartsWith(Key, StringComparison.Ordinal))
                mode = word[Key.Length..] switch
                {
                    "live" => BootMode.Live,
                    "install" => BootMode.Install,
                    var other => throw new InvalidDataException($"{cmdline}: appliance.mode={other}: expected live or install"),
                };
        return mode;
    }

    /// <summary>The word status.json and the log use: disk, live or install.</summary>
    public static string Name(this BootMode mode) => mode.ToString().ToLowerInvariant();
}
