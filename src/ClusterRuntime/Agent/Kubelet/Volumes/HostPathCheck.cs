// hostPath volume type checks (Directory, DirectoryOrCreate, File, FileOrCreate, Socket, CharDevice, BlockDevice).
namespace Appliance.ClusterRuntime.Agent.Kubelet.Volumes;

/// <summary>Checks (and for the *OrCreate types, makes) a hostPath as upstream's hostPath plugin does, with its words.</summary>
public static class HostPathCheck
{
    /// <summary>Checks <paramref name="path"/> against <paramref name="type"/> (null or empty: no check).</summary>
    /// <exception cref="IOException">The path is not what the type asks for.</exception>
    public static void Check(string path, string? type)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("volumes are Linux-only");
        var kind = FileKinds.Of(path);
        switch (type ?? "")
        {
            case "":
                return;
            case "DirectoryOrCreate" when kind == FileKind.Missing:
                Directory.CreateDirectory(path, (UnixFileMode)0b111_101_101);
                return;
            case "DirectoryOrCreate" or "Directory":
                if (kind != FileKind.Directory) throw Failed(path, "a directory");
                return;
            case "FileOrCreate" when kind == FileKind.Missing:
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                using (File.Create(path)) { }
                File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
                return;
            case "FileOrCreate" or "File":
                if (kind != FileKind.File) throw Failed(path, "a file");
                return;
            case "Socket":
                if (kind != FileKind.Socket) throw Failed(path, "a socket file");
                return;
            case "CharDevice":
                if (kind != FileKind.CharDevice) throw Failed(path, "a character device");
                return;
            case "BlockDevice":
                if (kind != FileKind.BlockDevice) throw Failed(path, "a block device");
                return;
            default:
                throw new IOException($"{type} is an invalid volume type");
        }
    }

    static IOException Failed(string path, string what) => new($"hostPath type check failed: {path} is not {what}");
}
