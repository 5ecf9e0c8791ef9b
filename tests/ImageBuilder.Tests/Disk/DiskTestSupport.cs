// Shared helpers for the disk tests: running the real tools, skipping when a tool is missing, listing trees.
using System.Text;
using Appliance.ImageBuilder.Disk.Tree;

namespace Appliance.ImageBuilder.Tests.Disk;

/// <summary>Runs the real tools the disk tests check against.</summary>
public static class DiskTools
{
    /// <summary>
    /// The mode column of <c>ls -l</c> for <paramref name="n"/>; unsquashfs prints it so, isoinfo writes fifos as
    /// <paramref name="fifo"/> 'f' and leaves setuid, setgid and sticky out (<paramref name="specialBits"/> false).
    /// </summary>
    public static string ModeString(FileNode n, char fifo = 'p', bool specialBits = true)
    {
        char t = n.Type switch
        {
            FileNodeType.Directory => 'd', FileNodeType.Symlink => 'l', FileNodeType.CharDevice => 'c',
            FileNodeType.BlockDevice => 'b', FileNodeType.Fifo => fifo, FileNodeType.Socket => 's', _ => '-',
        };
        int m = n.Mode;
        var s = new char[10];
        s[0] = t;
        const string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) s[i + 1] = (m & (1 << (8 - i))) != 0 ? rwx[i] : '-';
        if (specialBits)
        {
            if ((m & 0x800) != 0) s[3] = (m & 0x40) != 0 ? 's' : 'S';
            if ((m & 0x400) != 0) s[6] = (m & 0x8) != 0 ? 's' : 'S';
            if ((m & 0x200) != 0) s[9] = (m & 0x1) != 0 ? 't' : 'T';
        }
        return new string(s);
    }

    /// <summary>
    /// Runs a tool with <c>TZ=UTC LC_ALL=C.UTF-8</c> (so listings do not depend on the host) and returns its output;
    /// with <paramref name="check"/>, a non-zero exit fails the test, naming the command.
    /// </summary>
    public static ProcessResult Run(string tool, IEnumerable<string> args, bool check = true, string? stdin = null, string? cwd = null, byte[]? stdinBytes = null)
    {
        var r = ProcessRunner.Run(tool, args, new ProcessOptions
        {
            Stdin = stdinBytes ?? (stdin is null ? null : Encoding.UTF8.GetBytes(stdin)),
            WorkingDirectory = cwd,
            Environment = HostIndependent,
        });
        return check ? r.Ok() : r;
    }

    private static readonly IReadOnlyDictionary<string, string?> HostIndependent = new Dictionary<string, string?> { ["TZ"] = "UTC", ["LC_ALL"] = "C.UTF-8" };

    /// <summary>The full path of a tool on PATH (or in /sbin, /usr/sbin), or null.</summary>
    public static string? Find(string tool)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        return dirs.Select(d => System.IO.Path.Combine(d, tool)).FirstOrDefault(File.Exists);
    }

    /// <summary>Skips the test unless every tool is installed; returns the path of the first.</summary>
    public static string Require(params string[] tools)
    {
        string? first = null;
        foreach (var t in tools)
        {
            var p = Find(t);
            if (p is null) Assert.Skip($"{t} is not installed (apt-get install the packages in .ci/packages.d/disk.txt)");
            first ??= p;
        }
        return first!;
    }

    /// <summary>Skips the test unless running as root with loop devices available.</summary>
    public static void RequireRootAndLoop()
    {
        if (Environment.UserName != "root" && Run("id", ["-u"], check: false).Out.Trim() != "0")
            Assert.Skip("needs root for losetup and mount");
        if (!File.Exists("/dev/loop-control")) Assert.Skip("no /dev/loop-control: loop devices are not available");
        Require("losetup", "mount", "umount");
    }

    /// <summary>Skips the test unless the running kernel has the file system (built in or loadable).</summary>
    public static void RequireKernelFileSystem(string fsType)
    {
        bool Has() => File.ReadAllLines("/proc/filesystems").Any(l => l.Split('\t').Last().Trim() == fsType);
        if (Has()) return;
        if (Find("modprobe") != null) Run("modprobe", [fsType], check: false);
        if (!Has()) Assert.Skip($"the running kernel ({Environment.OSVersion.Version}) has no {fsType} driver: not in /proc/filesystems and modprobe {fsType} failed");
    }

    /// <summary>Writes a small but varied tree to a host directory and returns the files' relative paths and contents.</summary>
    public static void WriteSampleHostTree(string root)
    {
        Directory.CreateDirectory(System.IO.Path.Combine(root, "etc/app"));
        Directory.CreateDirectory(System.IO.Path.Combine(root, "empty-dir"));
        File.WriteAllText(System.IO.Path.Combine(root, "etc/app/config.yaml"), "key: value\n");
        File.WriteAllBytes(System.IO.Path.Combine(root, "empty-file"), []);
        var rnd = new Random(42);
        var big = new byte[300_000];
        rnd.NextBytes(big.AsSpan(0, 150_000));
        File.WriteAllBytes(System.IO.Path.Combine(root, "big.bin"), big);
        File.WriteAllBytes(System.IO.Path.Combine(root, "copy-of-big.bin"), big);
        File.WriteAllText(System.IO.Path.Combine(root, "grüße-ünïcødé.txt"), "utf-8 name\n");
        File.WriteAllText(System.IO.Path.Combine(root, new string('n', 251) + ".txt"), "255-byte name\n");
    }

    /// <summary>
    /// One line per entry of a host tree: path, type, permission bits, owner, link count, size (files),
    /// mtime, device numbers and symlink target, read with find(1) and stat(1).
    /// </summary>
    public static List<string> HostListing(string root, bool withMTime = true, bool withLinks = true)
    {
        var lines = new List<string>();
        var rows = Run("find", [root, "-mindepth", "1", "-printf", "%P\\t%y\\t%m\\t%U\\t%G\\t%n\\t%s\\t%T@\\t%l\\0"]).Out;
        foreach (var row in rows.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = row.Split('\t');
            string type = f[1], dev = "";
            if (type is "c" or "b")
            {
                var mm = Run("stat", ["-c", "%Hr,%Lr", System.IO.Path.Combine(root, f[0])]).Out.Trim();
                dev = mm;
            }
            string mode = type == "l" ? "777" : f[2];
            string size = type == "f" ? f[6] : "";
            string mtime = withMTime && type != "l" ? ((long)double.Parse(f[7], System.Globalization.CultureInfo.InvariantCulture)).ToString() : "";
            string links = withLinks ? f[5] : "";
            lines.Add($"{f[0]} {type} {mode} {f[3]}:{f[4]} n={links} s={size} t={mtime} d={dev} -> {f[8]}");
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>The listing <see cref="HostListing"/> should give for a tree written out faithfully.</summary>
    public static List<string> TreeListing(FileTree tree, bool withMTime = true, bool withLinks = true)
    {
        var lines = new List<string>();
        foreach (var n in tree.Walk())
        {
            if (n.Parent is null) continue;
            var i = n.Inode;
            string type = i.Type switch
            {
                FileNodeType.Directory => "d", FileNodeType.File => "f", FileNodeType.Symlink => "l", FileNodeType.CharDevice => "c",
                FileNodeType.BlockDevice => "b", FileNodeType.Fifo => "p", FileNodeType.Socket => "s", _ => "?",
            };
            string mode = type == "l" ? "777" : Convert.ToString(i.Mode, 8);
            int nlink = i.Type == FileNodeType.Directory ? 2 + i.Children.Count(c => c.Type == FileNodeType.Directory) : i.LinkCount;
            string size = type == "f" ? i.Size.ToString() : "";
            string mtime = withMTime && type != "l" ? i.MTime.ToString() : "";
            string dev = type is "c" or "b" ? $"{i.RdevMajor},{i.RdevMinor}" : "";
            lines.Add($"{n.Path} {type} {mode} {i.Uid}:{i.Gid} n={(withLinks ? nlink.ToString() : "")} s={size} t={mtime} d={dev} -> {(type == "l" ? i.LinkTarget : "")}");
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>The SHA-256 of a file, in hex.</summary>
    public static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(s));
    }

    /// <summary>Every regular file of a host tree: relative path → SHA-256.</summary>
    public static SortedDictionary<string, string> FileDigests(string root)
    {
        // find -type f: only regular files (not devices, fifos or symlinks).
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var list = Run("find", [root, "-type", "f", "-printf", "%P\\0"]).Out;
        foreach (var rel in list.Split('\0', StringSplitOptions.RemoveEmptyEntries))
            d[rel] = Sha256(System.IO.Path.Combine(root, rel));
        return d;
    }

    /// <summary>Every regular file of a tree: path → SHA-256.</summary>
    public static SortedDictionary<string, string> FileDigests(FileTree tree)
    {
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in tree.Walk())
            if (n.Type is FileNodeType.File or FileNodeType.HardLink && n.Inode.Type == FileNodeType.File)
            {
                using var s = n.Inode.Content!.OpenRead();
                d[n.Path] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(s));
            }
        return d;
    }
}
