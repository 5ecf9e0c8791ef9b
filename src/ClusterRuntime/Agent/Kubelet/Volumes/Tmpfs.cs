// tmpfs mounts for memory-backed emptyDir volumes, and the mount table a teardown checks before deleting.
using System.Runtime.InteropServices;
using System.Text;

namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>mount(2)/umount2(2) of tmpfs, and the mount points under a directory (from /proc/self/mountinfo).</summary>
public static class Tmpfs
{
    [DllImport("libc", SetLastError = true)]
    static extern int mount(string source, string target, string fstype, ulong flags, string? data);

    [DllImport("libc", SetLastError = true)]
    static extern int umount2(string target, int flags);

    const ulong MsNoSuid = 2, MsNoDev = 4;

    /// <summary>Mounts a tmpfs on <paramref name="target"/> (nosuid, nodev), of <paramref name="sizeBytes"/> when given.</summary>
    /// <exception cref="IOException">The kernel refused, with its reason.</exception>
    public static void Mount(string target, long? sizeBytes)
    {
        var data = sizeBytes is { } n ? $"size={n}" : null;
        if (mount("tmpfs", target, "tmpfs", MsNoSuid | MsNoDev, data) != 0)
            throw new IOException($"mount tmpfs on {target}{(data is null ? "" : " with " + data)}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>Unmounts <paramref name="target"/>.</summary>
    /// <exception cref="IOException">The kernel refused, with its reason.</exception>
    public static void Unmount(string target)
    {
        if (umount2(target, 0) != 0)
            throw new IOException($"unmount {target}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>True when <paramref name="path"/> is a mount point.</summary>
    public static bool IsMountPoint(string path) => MountPoints().Contains(Path.GetFullPath(path).TrimEnd('/'));

    /// <summary>The mount points at or under <paramref name="dir"/>, deepest first.</summary>
    public static IReadOnlyList<string> MountsUnder(string dir)
    {
        var root = Path.GetFullPath(dir).TrimEnd('/');
        return MountPoints().Where(m => m == root || m.StartsWith(root + "/", StringComparison.Ordinal))
            .Distinct().OrderByDescending(m => m.Length).ToList();
    }

    // Field 5 of each mountinfo line, with the kernel's octal escapes (\040 for a space) undone.
    static List<string> MountPoints() =>
        File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Where(f => f.Length > 4).Select(f => Unescape(f[4])).ToList();

    static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var bytes = new List<byte>();
        for (int i = 0; i < s.Length; i++)
            if (s[i] == '\\' && IsOctal(s, i + 1)) { bytes.Add(Convert.ToByte(s.Substring(i + 1, 3), 8)); i += 3; }
            else bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    static bool IsOctal(string s, int at) => at + 3 <= s.Length && s.Skip(at).Take(3).All(c => c is >= '0' and <= '7');
}
