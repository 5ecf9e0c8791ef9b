// Where first boot reads and writes, all under one prefix so a host test can run it on a loop device.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Appliance.Firstboot;

/// <summary>The device paths of the shared contract, below <see cref="Root"/> ("/" on the device).</summary>
public sealed record FirstbootPaths(string Root)
{
    private string Under(string path) => Path.Combine(Root, path.TrimStart('/'));

    /// <summary>The data partition's mount point (DATA).</summary>
    public string Data => Under("/var/lib/appliance/data");
    /// <summary>DATA/firstboot: the journal and the status copy.</summary>
    public string FirstbootDir => Path.Combine(Data, "firstboot");
    /// <summary>The journal.</summary>
    public string Journal => Path.Combine(FirstbootDir, "journal");
    /// <summary>DATA/logs.</summary>
    public string Logs => Path.Combine(Data, "logs");
    /// <summary>DATA/runtime: the server's data directory.</summary>
    public string Runtime => Path.Combine(Data, "runtime");
    /// <summary>DATA/secrets: an agent's token.</summary>
    public string SecretsDir => Path.Combine(Data, "secrets");
    /// <summary>The runtime's auto-deploy directory.</summary>
    public string ManifestsDir => Path.Combine(Runtime, "manifests");
    /// <summary>/run/appliance: live state.</summary>
    public string Run => Under("/run/appliance");
    /// <summary>The live status.</summary>
    public string Status => Path.Combine(Run, "status.json");
    /// <summary>Where rc.boot mounts the boot partition read-only.</summary>
    public string BootMount => Path.Combine(Run, "boot");
    /// <summary>The image's build facts (sourceDateEpoch, runtime version, OS digest).</summary>
    public string BuildJson => Under("/etc/appliance/build.json");
    /// <summary>The kernel command line (appliance.slot=, appliance.mode=).</summary>
    public string CmdLine => Under("/proc/cmdline");
    /// <summary>Where the initramfs mounts the ISO medium read-only (live and install modes).</summary>
    public string Medium => Under("/run/appliance/medium");
    /// <summary>The raw image's boot-partition files on the medium (the FAT's tree: <c>appliance/site.yaml</c>, <c>appliance/manifests/</c>, …).</summary>
    public string MediumBoot => Path.Combine(Medium, "appliance", "boot");
    /// <summary>sysfs's whole disks, where the installer looks for its target.</summary>
    public string SysBlock => Under("/sys/block");
    /// <summary>Marks that this boot's installer has run (tmpfs): a respawned firstboot never writes the disk twice.</summary>
    public string InstallDone => Path.Combine(Run, "install.done");
}
