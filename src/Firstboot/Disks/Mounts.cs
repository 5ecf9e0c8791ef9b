// Mounting and unmounting through the system's mount/umount (busybox on the device), and /proc/self/mountinfo.
using System.Diagnostics;

namespace Appliance.Firstboot.Disks;

/// <summary>Mounts, unmounts and finds mounts. Each command's failure is an <see cref="IOException"/> with its output.</summary>
public static class Mounts
{
    /// <summary>The mount point where the device <paramref name="majorMinor"/> is mounted, or null.</summary>
    public static string? MountPointOf(string majorMinor) =>
        Read().FirstOrDefault(m => m.Device == majorMinor)?.MountPoint;

    /// <summary>Whether something is mounted at <paramref name="mountPoint"/>.</summary>
    public static bool IsMountPoint(string mountPoint)
    {
        var full = Path.GetFullPath(mountPoint).TrimEnd('/');
        return Read().Any(m => m.MountPoint == full);
    }

    /// <summary>The device mounted at <paramref name="mountPoint"/> (<c>major:minor</c>), or null.</summary>
    public static string? DeviceAt(string mountPoint)
    {
        var full = Path.GetFullPath(mountPoint).TrimEnd('/');
        return Read().LastOrDefault(m => m.MountPoint == full)?.Device;
    }

    /// <summary>The mount points of any of the devices <paramref name="majorMinors"/>, deepest first.</summary>
    public static IReadOnlyList<string> MountPointsOf(IReadOnlySet<string> majorMinors) =>
        Read().Where(m => majorMinors.Contains(m.Device)).Select(m => m.MountPoint).Distinct().OrderByDescending(m => m.Length).ToList();

    private sealed record Entry(string Device, string MountPoint);

    private static List<Entry> Read()
    {
        var list = new List<Entry>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f.Length > 4) list.Add(new Entry(f[2], Unescape(f[4])));
        }
        return list;
    }

    private static string Unescape(string s) => s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");

    /// <summary>Mounts <paramref name="device"/> at <paramref name="mountPoint"/> (made if missing).</summary>
    public static void Mount(string device, string mountPoint, string type, string options)
    {
        Directory.CreateDirectory(mountPoint);
        Tools.Run("mount", ["-t", type, "-o", options, device, mountPoint]);
    }

    /// <summary>Unmounts <paramref name="mountPoint"/>.</summary>
    public static void Unmount(string mountPoint) => Tools.Run("umount", [mountPoint]);
}

/// <summary>Runs the system tools first boot needs (mount, mkfs.ext4, e2fsck), failing with their output.</summary>
public static class Tools
{
    /// <summary>Runs <paramref name="file"/> to completion; a non-zero exit throws <see cref="IOException"/> naming the command and its output.</summary>
    public static string Run(string file, IReadOnlyList<string> args, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new IOException($"{file}: cannot run it: {e.Message}"); }
        using (p)
        {
            p.StandardInput.Close();
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
            {
                p.Kill(entireProcessTree: true);
                throw new IOException($"{file} {string.Join(' ', args)}: did not finish in time");
            }
            var error = err.Result;
            if (p.ExitCode != 0)
                throw new IOException($"{file} {string.Join(' ', args)}: exit code {p.ExitCode}: {(error + output).Trim()}");
            return output;
        }
    }
}
