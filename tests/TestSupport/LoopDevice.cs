// A disk image attached to a loop device with its partitions known to the kernel; on dispose, every mount of it undone and it detached.
namespace Appliance.TestSupport;

/// <summary>
/// <c>losetup --find --show -P FILE</c>, then <c>partx -a</c> for kernels that do not scan partition tables themselves
/// (this host's has neither the GPT nor the MBR parser), waiting for the partitions' device nodes. Dispose unmounts
/// everything mounted from the device or its partitions (partitions added later, by the program under test,
/// included), removes the partitions and detaches the device; it never throws.
/// </summary>
public sealed class LoopDevice : IDisposable
{
    private LoopDevice(string device) => Device = device;

    /// <summary>The loop device, such as /dev/loop3.</summary>
    public string Device { get; }

    /// <summary>The node of partition <paramref name="number"/> (<c>/dev/loop3p2</c>).</summary>
    public string Partition(int number) => $"{Device}p{number}";

    /// <summary>Whether this process may attach loop devices (root, /dev/loop-control, losetup and partx installed).</summary>
    public static string? Unavailable()
    {
        if (ProcessRunner.Run("id", ["-u"]).Out.Trim() != "0") return "needs root for losetup and mount";
        if (!File.Exists("/dev/loop-control")) return "no /dev/loop-control: loop devices are not available";
        foreach (var tool in new[] { "losetup", "partx", "mount", "umount" })
            if (!new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Any(d => File.Exists(System.IO.Path.Combine(d, tool))))
                return $"{tool} is not installed";
        return null;
    }

    /// <summary>Attaches <paramref name="file"/> read-write and makes its partitions known; waits for their nodes.</summary>
    public static LoopDevice Attach(string file)
    {
        var dev = ProcessRunner.Run("losetup", ["--find", "--show", "-P", file]).Ok().Out.Trim();
        var loop = new LoopDevice(dev);
        try
        {
            ProcessRunner.Run("partx", ["-a", dev]); // exit 1 when the kernel already added them: fine
            var name = System.IO.Path.GetFileName(dev);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            foreach (var part in Directory.EnumerateDirectories($"/sys/class/block/{name}").Select(System.IO.Path.GetFileName).Where(p => p!.StartsWith(name + "p", StringComparison.Ordinal)))
                while (!File.Exists("/dev/" + part))
                {
                    if (DateTime.UtcNow > deadline) throw new IOException($"/dev/{part} did not appear");
                    Thread.Sleep(50);
                }
            return loop;
        }
        catch
        {
            loop.Dispose();
            throw;
        }
    }

    /// <summary>The mount points of the device and its partitions, deepest first.</summary>
    public IReadOnlyList<string> MountPoints()
    {
        var name = System.IO.Path.GetFileName(Device);
        var numbers = new HashSet<string>();
        foreach (var d in new[] { name }.Concat(Directory.Exists($"/sys/class/block/{name}")
                     ? Directory.EnumerateDirectories($"/sys/class/block/{name}").Select(System.IO.Path.GetFileName).Where(p => p!.StartsWith(name + "p", StringComparison.Ordinal))!
                     : []))
            if (File.Exists($"/sys/class/block/{d}/dev")) numbers.Add(File.ReadAllText($"/sys/class/block/{d}/dev").Trim());
        return File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Where(f => numbers.Contains(f[2]))
            .Select(f => f[4].Replace("\\040", " ")).OrderByDescending(m => m.Length).ToList();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            foreach (var m in MountPoints()) ProcessRunner.Run("umount", [m]);
        }
        catch (IOException) { }
        ProcessRunner.Run("partx", ["-d", Device]);
        ProcessRunner.Run("losetup", ["-d", Device]);
    }
}
