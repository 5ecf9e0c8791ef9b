// containerd 1.6 config.toml (version 2) for an offline node: root, state and socket under one directory, CRI on.
using System.Globalization;
using System.Text;

namespace Appliance.ClusterRuntime.Agent.Containerd;

/// <summary>
/// The containerd configuration the agent writes. Everything containerd keeps lives under <see cref="Directory"/>:
/// <c>root/</c> (images, snapshots: must not be on overlayfs), <c>state/</c> (the socket, FIFOs, the shims' bundles),
/// <c>config.toml</c>, <c>containerd.log</c>. containerd's state must not outlive a boot (upstream keeps it on a tmpfs
/// under /run); ours sits beside the persistent root, so <see cref="ForgetEarlierBoot"/> (called by
/// <see cref="ContainerdSupervisor.Start"/>) empties it when an earlier boot left it.
/// </summary>
internal sealed record ContainerdConfig
{
    /// <summary>The pod sandbox image, preloaded and never pulled (kits/pause/README.md). Matched exactly.</summary>
    public const string PauseImage = "docker.io/appliance/pause:catatonit-0.1.7";

    /// <summary>Debian's CNI plugins (containernetworking-plugins).</summary>
    public const string CniBinDir = "/usr/lib/cni";

    /// <summary>The directory holding root/, state/ and config.toml. Keep it short: the socket is under it.</summary>
    public string Directory { get; }

    /// <summary>Where containerd looks for CNI network configs (the agent writes them).</summary>
    public string CniConfDir { get; }

    /// <summary>Whether AppArmor is turned off in the CRI plugin. Default: when /sbin/apparmor_parser is missing,
    /// containerd cannot load its default profile, so asking for one would fail every container.</summary>
    public bool DisableAppArmor { get; init; } = !File.Exists("/sbin/apparmor_parser");

    /// <summary>Whether containers may only get an oom_score_adj at or above containerd's own (CRI
    /// <c>restrict_oom_score_adj</c>). Default: when this process lacks CAP_SYS_RESOURCE (some sandboxes and CI hosts
    /// drop it), lowering it to the sandbox's -998 would fail every pod in runc init.</summary>
    public bool RestrictOomScoreAdj { get; init; } = !HasCapability(CapSysResource);

    /// <summary>containerd's log level.</summary>
    public string LogLevel { get; init; } = "info";

    /// <summary>The id of the running boot (the kernel's <c>/proc/sys/kernel/random/boot_id</c>);
    /// <see cref="ForgetEarlierBoot"/> compares it with the one <see cref="StateDir"/> was left by.</summary>
    public string BootId { get; init; } = ReadBootId();

    /// <summary>A configuration rooted at <paramref name="directory"/>; throws when its socket path would be too long.</summary>
    public ContainerdConfig(string directory, string cniConfDir)
    {
        Directory = Path.GetFullPath(directory);
        CniConfDir = Path.GetFullPath(cniConfDir);
        if (Encoding.UTF8.GetByteCount(SocketPath) >= 108)
            throw new ArgumentException(
                $"containerd directory {Directory} is too long: its socket {SocketPath} must be under 108 bytes");
    }

    /// <summary>containerd's persistent root.</summary>
    public string RootDir => Path.Combine(Directory, "root");

    /// <summary>containerd's state directory: only good for the boot that wrote it (see <see cref="ForgetEarlierBoot"/>).</summary>
    public string StateDir => Path.Combine(Directory, "state");

    /// <summary>The file in <see cref="StateDir"/> naming the boot its contents belong to.</summary>
    public string BootIdPath => Path.Combine(StateDir, "boot_id");

    /// <summary>The gRPC socket (CRI and containerd's own API).</summary>
    public string SocketPath => Path.Combine(StateDir, "c.sock");

    /// <summary>The config file path.</summary>
    public string ConfigPath => Path.Combine(Directory, "config.toml");

    /// <summary>The file containerd's stderr is appended to.</summary>
    public string LogPath => Path.Combine(Directory, "containerd.log");

    /// <summary>Writes config.toml (and the directories) and returns its path.</summary>
    public string Write()
    {
        System.IO.Directory.CreateDirectory(RootDir);
        System.IO.Directory.CreateDirectory(StateDir);
        System.IO.Directory.CreateDirectory(CniConfDir);
        Appliance.Common.AtomicFile.WriteText(ConfigPath, Render());
        return ConfigPath;
    }

    /// <summary>
    /// Empties <see cref="StateDir"/> unless it belongs to this boot, and records <see cref="BootId"/> in it. After a
    /// reboot the directory still holds the shims' bundles of the boot before; after a power loss some of their files
    /// are empty, containerd cannot clean them up (<c>unexpected end of JSON input</c>) and keeps them for good.
    /// Emptied, containerd starts as it would on upstream's tmpfs: no task, every old sandbox NOTREADY, and the kubelet
    /// makes new ones. A directory with mount points under it (a container's rootfs, a sandbox's shm) is this boot's
    /// whatever it records, and is kept. Returns how many entries were removed.
    /// </summary>
    public int ForgetEarlierBoot()
    {
        System.IO.Directory.CreateDirectory(StateDir);
        var recorded = File.Exists(BootIdPath) ? File.ReadAllText(BootIdPath).Trim() : null;
        if (recorded == BootId) return 0;
        var removed = 0;
        if (Kubelet.Volumes.Tmpfs.MountsUnder(StateDir).Count == 0)
            foreach (var entry in new DirectoryInfo(StateDir).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo { LinkTarget: null } dir) dir.Delete(recursive: true);
                else entry.Delete();
                removed++;
            }
        Appliance.Common.AtomicFile.WriteText(BootIdPath, BootId + "\n");
        return removed;
    }

    /// <summary>The config.toml text.</summary>
    public string Render()
    {
        var b = new StringBuilder();
        b.AppendLine("# Written by appliance-runtime agent; rewritten at every start.");
        b.AppendLine("version = 2");
        b.AppendLine(Line("root", RootDir));
        b.AppendLine(Line("state", StateDir));
        // Not needed on a node and slow or noisy to probe at start.
        b.AppendLine("disabled_plugins = [\"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.btrfs\", " +
                     "\"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.zfs\", " +
                     "\"io.containerd.tracing.processor.v1.otlp\", \"io.containerd.internal.v1.tracing\"]");
        b.AppendLine();
        b.AppendLine("[grpc]");
        b.AppendLine(Line("  address", SocketPath));
        b.AppendLine();
        b.AppendLine("[ttrpc]");
        b.AppendLine("  address = \"\"");
        b.AppendLine();
        b.AppendLine("[debug]");
        b.AppendLine("  address = \"\"");
        b.AppendLine(Line("  level", LogLevel));
        b.AppendLine();
        b.AppendLine("[metrics]");
        b.AppendLine("  address = \"\"");
        b.AppendLine();
        b.AppendLine("[plugins]");
        b.AppendLine("  [plugins.\"io.containerd.internal.v1.opt\"]");
        b.AppendLine(Line("    path", Path.Combine(RootDir, "opt")));
        b.AppendLine("  [plugins.\"io.containerd.grpc.v1.cri\"]");
        b.AppendLine(Line("    sandbox_image", PauseImage));
        b.AppendLine("    disable_apparmor = " + (DisableAppArmor ? "true" : "false"));
        // containerd's streaming server (Exec/Attach/PortForward URLs) on loopback, any free port.
        b.AppendLine("    stream_server_address = \"127.0.0.1\"");
        b.AppendLine("    stream_server_port = \"0\"");
        b.AppendLine("    enable_selinux = false");
        b.AppendLine("    restrict_oom_score_adj = " + (RestrictOomScoreAdj ? "true" : "false"));
        b.AppendLine("    [plugins.\"io.containerd.grpc.v1.cri\".containerd]");
        b.AppendLine("      snapshotter = \"overlayfs\"");
        b.AppendLine("      default_runtime_name = \"runc\"");
        b.AppendLine("      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]");
        b.AppendLine("        runtime_type = \"io.containerd.runc.v2\"");
        b.AppendLine("        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]");
        // cgroupfs: the kubelet's driver here (cgroup v1 hosts, no systemd in the loop).
        b.AppendLine("          SystemdCgroup = false");
        b.AppendLine("    [plugins.\"io.containerd.grpc.v1.cri\".cni]");
        b.AppendLine(Line("      bin_dir", CniBinDir));
        b.AppendLine(Line("      conf_dir", CniConfDir));
        return b.ToString();
    }

    const int CapSysResource = 24;

    static string ReadBootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Whether this process has capability <paramref name="bit"/> in its effective set (/proc/self/status).</summary>
    static bool HasCapability(int bit)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
            return line is not null && (ulong.Parse(line["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) >> bit & 1) == 1;
        }
        catch (IOException)
        {
            return true;
        }
    }

    static string Line(string key, string value) => string.Create(CultureInfo.InvariantCulture, $"{key} = {Toml(value)}");

    /// <summary>A TOML basic string.</summary>
    static string Toml(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
